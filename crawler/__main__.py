"""`python -m crawler`: the crawl process (crawler.run.main), started by pipeline.crawl.

Started as the package's __main__ rather than as `-m crawler.run` for the prepare workers'
sake: a worker process re-imports its parent's main module unless that module is a
package's __main__ (multiprocessing skips those), and crawler.run brings Scrapy, Twisted and
SQLAlchemy, some 60 MB a worker does not use.
"""

from crawler.run import main

raise SystemExit(main())
