"""Read-only API and pages for job seekers over the tagged store (served by `hcjobs serve`)."""
