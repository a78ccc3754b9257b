"""The local cluster, in parts that hack/cluster.py (the control plane and its kwok nodes),
hack/node.py (a real node) and hack/demo.py share.

Standard library only: the Makefile runs cluster.py and node.py with the system python3,
before any virtualenv exists. The scripts import this package from their own directory.
"""
