"""The sample package universe: a small, deterministic, Fedora 20 shaped rpm-md repository
(`universe.build_sample_repo`) that the demo and the slow tests compose trees from."""
