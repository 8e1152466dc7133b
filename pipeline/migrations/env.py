"""Alembic environment: runs on the connection handed over by pipeline.db.migrate."""

from alembic import context
from sqlalchemy import create_engine

from pipeline.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # plain `alembic` command line: use the configured URL
        from pipeline.db import make_engine

        url = config.get_main_option("sqlalchemy.url")
        engine = make_engine(url) if url else create_engine("sqlite:///jobs.db")
        with engine.begin() as conn:
            context.configure(connection=conn, target_metadata=target_metadata,
                              render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
