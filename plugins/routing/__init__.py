"""Built-in routers: ``pyvrp`` (default), ``ortools`` (breaks) and ``auto`` (picks per problem)."""
