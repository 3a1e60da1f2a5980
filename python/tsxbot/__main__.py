import sys

from tsxbot.cli import main

sys.exit(main())
