"""`python -m crawler`: the crawl process (crawler.run.main), started by pipeline.crawl.

Started as the package's __main__ rather than as `-m crawler.run` for the prepare workers'
sake: a worker process re-imports its parent's main module unless that module is a
package's __main__ (multiprocessing skips those), and crawler.run brings Scrapy, Twisted and
SQLAlchemy, some 60 MB a worker does not use.

Once main() has returned, every run is recorded and its workers are stopped: the process
leaves with os._exit, skipping the interpreter's teardown, which frees the crawl's heap (a
large board's answer and its postings) object by object, some 0.25 s after a 10,000-posting
crawl. Logging is flushed first; an exception or SystemExit from main() exits as usual.
"""

import logging
import os
import sys

from crawler.run import main

code = main()
logging.shutdown()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
