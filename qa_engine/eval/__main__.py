"""`python -m qa_engine.eval`: run the evaluation harness (`qa-engine eval` calls the same `main`)."""

import sys

from qa_engine.eval.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
