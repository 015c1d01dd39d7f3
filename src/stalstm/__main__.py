"""`python -m stalstm` (and `torchrun -m stalstm ...`) runs the command line."""

from stalstm.cli import main

if __name__ == "__main__":
    main()
