"""`python -m qa_engine.eval`: run the evaluation harness."""

import sys

from qa_engine.eval.cli import main

sys.exit(main())
