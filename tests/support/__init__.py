"""Test support, one module per concern; test modules import from here, never from conftest or bench.

- :mod:`tests.support.ports`: a free 127.0.0.1 port.
- :mod:`tests.support.waiting`: :func:`~tests.support.waiting.wait_until`, polling with a deadline.
- :mod:`tests.support.servers`: the app in a live server thread, gunicorn, a static file server.
- :mod:`tests.support.smtp`: a real SMTP server (aiosmtpd) and its inbox.
- :mod:`tests.support.content`: paths of the checkout and sample content, offers written by tests.
- :mod:`tests.support.cases`: content folders built from the one-case-per-file fixtures.
- :mod:`tests.support.load`: concurrent form submissions over HTTP (the fault test and ``bench.submit``).
"""
