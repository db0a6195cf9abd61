"""ASGI entry point for uvicorn: `uvicorn app.asgi:app`.

Started this way rather than by `python -m app serve`, give uvicorn `--ws-max-size` equal to
LOCKSTEP_MAX_WS_MESSAGE_BYTES: the app closes a socket whose message is larger, but uvicorn has read the message
(up to its own 16 MiB default) by then.
"""

import gc

from app.data_files import protect_data_files, restrict_umask
from app.logs import configure_logging
from app.main import create_app
from app.settings import Settings

restrict_umask()
settings = Settings.from_env()
# Also when started as `uvicorn app.asgi:app`: uvicorn has set up its own format by now, and this replaces it.
configure_logging(settings.log_level)
protect_data_files(settings)
app = create_app(settings)

# The server process, once the app is built: everything loaded so far lives as long as the process, so move it out
# of the collector's way, and collect young objects less often than the default 700. A slot query allocates ~100k
# short-lived objects; with the defaults the collections they trigger dominate tail latency (bench/availability.py).
# The price: a young collection walks every young object at once, so under a flood of small requests (each leaves a
# few reference cycles behind) a pause lasts up to about a quarter of a second (bench/abuse.py). A threshold of 25k
# or 50k shortened those pauses but lengthened the slot queries' tail more (docs/performance.md).
gc.collect()
gc.freeze()
gc.set_threshold(200_000, 50, 1000)
