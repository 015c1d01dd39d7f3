/*
 * Whitespace-separated decimal numbers to float64, in one pass over a file's bytes.
 *
 * parse(data: bytes) -> (values: bytearray, starts: bytearray, ends: bytearray, bad: int)
 *   values  float64 of every token (native byte order), starts/ends int64 byte offsets of each
 *   token, bad the index of the first token that is not a plain decimal number (-1 if none).
 *   Tokens after a bad one are still delimited, but their values are not defined: the caller
 *   falls back to its strict Python path to name the token and its line.
 *
 * Grammar accepted: [+-]? (digits [. digits*] | . digits) ([eE] [+-]? digits)?
 * Results equal Python's float() bit for bit: tokens with at most 19 significant digits and a
 * decimal exponent within +-22 use Clinger's fast path (an exactly representable mantissa times or
 * divided by an exact power of ten is correctly rounded); every other token goes through
 * PyOS_string_to_double, the function float() itself uses.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

static const double exact_powers_of_ten[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* ASCII whitespace as bytes.split() sees it: space, \t, \n, \v, \f, \r. */
static unsigned char space_table[256];

static void fill_space_table(void) {
    const char *spaces = " \t\n\v\f\r";
    for (const char *c = spaces; *c; c++) space_table[(unsigned char)*c] = 1;
}

#define is_space(c) (space_table[(unsigned char)(c)])

static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* Parses the number starting at p (the data ends at limit) and sets *stop where it ends.
 * Returns 0 and sets *out when a whole token (up to whitespace or the end) is a decimal number,
 * -1 when it is not, -2 when a Python error is set. */
static int parse_token(const char *p, const char *limit, const char **stop, double *out) {
    const char *start = p;
    const char *end = limit;
    int negative = 0;
    if (*p == '+' || *p == '-') {
        negative = (*p == '-');
        p++;
    }
    uint64_t mantissa = 0;
    int significant = 0, digits = 0, exponent = 0;
    while (p < end && is_digit((unsigned char)*p)) {
        if (significant < 19) {
            if (mantissa || *p != '0') {
                mantissa = mantissa * 10 + (uint64_t)(*p - '0');
                significant++;
            }
        } else {
            exponent++; /* digits beyond 19 only shift the scale (slow path takes over) */
            significant++;
        }
        digits++;
        p++;
    }
    if (p < end && *p == '.') {
        p++;
        while (p < end && is_digit((unsigned char)*p)) {
            if (significant < 19) {
                if (mantissa || *p != '0') {
                    mantissa = mantissa * 10 + (uint64_t)(*p - '0');
                    significant++;
                }
                exponent--;
            } else {
                significant++;
            }
            digits++;
            p++;
        }
    }
    if (digits == 0) return -1;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int exponent_negative = 0;
        if (p < end && (*p == '+' || *p == '-')) {
            exponent_negative = (*p == '-');
            p++;
        }
        if (p == end || !is_digit((unsigned char)*p)) return -1;
        int written = 0;
        while (p < end && is_digit((unsigned char)*p)) {
            if (written < 100000) written = written * 10 + (*p - '0');
            p++;
        }
        exponent += exponent_negative ? -written : written;
    }
    *stop = p;
    if (p != end && !is_space(*p)) return -1;
    end = p;

    if (significant <= 19 && mantissa <= (UINT64_C(1) << 53) && exponent >= -22 &&
        exponent <= 22) {
        double value = (double)mantissa;
        value = exponent < 0 ? value / exact_powers_of_ten[-exponent]
                             : value * exact_powers_of_ten[exponent];
        *out = negative ? -value : value;
        return 0;
    }
    /* Slow but exact: the same conversion float() uses. */
    Py_ssize_t length = end - start;
    char small[64];
    char *copy = length < (Py_ssize_t)sizeof(small) ? small : PyMem_Malloc((size_t)length + 1);
    if (copy == NULL) {
        PyErr_NoMemory();
        return -2;
    }
    memcpy(copy, start, (size_t)length);
    copy[length] = '\0';
    double value = PyOS_string_to_double(copy, NULL, NULL);
    if (copy != small) PyMem_Free(copy);
    if (value == -1.0 && PyErr_Occurred()) return -2;
    *out = value;
    return 0;
}

static int resize_all(PyObject *values, PyObject *starts, PyObject *ends, Py_ssize_t count) {
    if (PyByteArray_Resize(values, count * (Py_ssize_t)sizeof(double)) < 0) return -1;
    if (PyByteArray_Resize(starts, count * (Py_ssize_t)sizeof(int64_t)) < 0) return -1;
    return PyByteArray_Resize(ends, count * (Py_ssize_t)sizeof(int64_t));
}

static PyObject *parse(PyObject *self, PyObject *args) {
    Py_buffer buffer;
    if (!PyArg_ParseTuple(args, "y*", &buffer)) return NULL;
    const char *data = buffer.buf;
    Py_ssize_t size = buffer.len;

    /* Room for a token every 8 bytes to start with (NTU's are ~8 bytes with their space);
     * doubled whenever it runs out, trimmed to the count at the end. */
    Py_ssize_t capacity = size / 8 + 16;
    PyObject *values = PyByteArray_FromStringAndSize(NULL, capacity * (Py_ssize_t)sizeof(double));
    PyObject *starts = PyByteArray_FromStringAndSize(NULL, capacity * (Py_ssize_t)sizeof(int64_t));
    PyObject *ends = PyByteArray_FromStringAndSize(NULL, capacity * (Py_ssize_t)sizeof(int64_t));
    if (values == NULL || starts == NULL || ends == NULL) goto fail;
    double *value_out = (double *)PyByteArray_AS_STRING(values);
    int64_t *start_out = (int64_t *)PyByteArray_AS_STRING(starts);
    int64_t *end_out = (int64_t *)PyByteArray_AS_STRING(ends);

    Py_ssize_t count = 0, bad = -1, i = 0;
    while (i < size) {
        while (i < size && is_space((unsigned char)data[i])) i++;
        if (i == size) break;
        if (count == capacity) {
            capacity *= 2;
            if (resize_all(values, starts, ends, capacity) < 0) goto fail;
            value_out = (double *)PyByteArray_AS_STRING(values);
            start_out = (int64_t *)PyByteArray_AS_STRING(starts);
            end_out = (int64_t *)PyByteArray_AS_STRING(ends);
        }
        Py_ssize_t begin = i;
        double value = 0.0;
        if (bad < 0) {
            const char *stop = data + i;
            int status = parse_token(data + i, data + size, &stop, &value);
            if (status == -2) goto fail;
            if (status == -1) bad = count;
            i = stop - data;
        }
        while (i < size && !is_space(data[i])) i++; /* the rest of a bad token */
        start_out[count] = begin;
        end_out[count] = i;
        value_out[count] = value;
        count++;
    }
    PyBuffer_Release(&buffer);
    if (resize_all(values, starts, ends, count) < 0) {
        Py_DECREF(values);
        Py_DECREF(starts);
        Py_DECREF(ends);
        return NULL;
    }
    return Py_BuildValue("(NNNn)", values, starts, ends, bad);

fail:
    PyBuffer_Release(&buffer);
    Py_XDECREF(values);
    Py_XDECREF(starts);
    Py_XDECREF(ends);
    return NULL;
}

static PyMethodDef methods[] = {
    {"parse", parse, METH_VARARGS,
     "parse(data) -> (values, starts, ends, bad): float64 values and int64 byte offsets of the "
     "whitespace-separated tokens of data, and the index of the first non-decimal token or -1."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastnumbers",
                                    "Fast strict parsing of whitespace-separated numbers.", -1,
                                    methods};

PyMODINIT_FUNC PyInit__fastnumbers(void) {
    fill_space_table();
    return PyModule_Create(&module);
}
