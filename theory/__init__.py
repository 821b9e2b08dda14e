"""The claims catalogue: one module per topic, each defining :class:`mdpgrad.claims.Claim`
objects with the ``@claim`` decorator. ``mdpgrad.claims.registry()`` discovers them."""
