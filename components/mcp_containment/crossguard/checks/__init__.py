"""The checks, one module per family: network, DCF rules, Kubernetes."""
