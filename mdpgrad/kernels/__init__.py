"""The compiled kernels and their references, one module per area (``vi``, ``sparse``, ``td``, ``rollouts``,
``sde``, ``estimators``, ``bandits``, ``robust``, ``efg``, ``preference``, ``finite_horizon``, ``algorithms``): each holds
the NumPy reference beside its Numba (``cache=True``) and CuPy twins with the same signature.
:data:`mdpgrad.backend.KERNELS` lists them; callers reach them through a backend
(``get_backend(backend, kernel=name).kernel(name)``), never by branching on a backend's name.
``common`` holds the one compiled softmax every Numba kernel uses."""
