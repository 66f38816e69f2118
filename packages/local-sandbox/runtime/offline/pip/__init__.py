# Shadows pip in sandboxes without network access (on PYTHONPATH and PATH only there): `pip install`
# answers at once, in one line, instead of Debian's PEP 668 text or a long wait for DNS. Every other
# pip command runs the real pip. See __main__.py.
