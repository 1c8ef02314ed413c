"""The distribution-scale benchmark: a package universe synthesized from real repository
metadata (CentOS Stream 9 BaseOS), and the trees composed from it."""
