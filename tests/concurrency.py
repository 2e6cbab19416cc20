"""Running jobs at the same instant, each on its own database connection.

Tests that use it need ``pytest.mark.django_db(transaction=True, serialized_rollback=True)``:
the threads' connections only see committed rows.
"""

import threading

import pghistory
from django.db import connection


def run_together(jobs):
    """Run each job in its own thread and connection, released at once by a barrier.

    Each thread connects before the barrier, so the jobs meet at their first query
    rather than one connection set-up apart. Returns, per job, its result or the
    exception it raised; the caller's assertions decide which are expected.
    """
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def worker(index, job):
        try:
            connection.ensure_connection()
            barrier.wait(timeout=30)
            # In a history context of its own, as a request is (camp.history).
            with pghistory.context():
                results[index] = job()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results
