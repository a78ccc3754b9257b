"""A Channel's or ProbeJob's status, kstatus-compliant, in three steps, each pure:
`observed` (what the operator reads from the children), `assessment` (how it judges that:
phase and conditions) and `patch` (what it writes back, as a merge patch).

kstatus rules (what Flux, Argo CD and `kubectl wait` rely on): `observedGeneration` at top
level and per condition; `Reconciling` is True only while converging and `Stalled` only when
progress stopped for good (both "abnormal-true"); `Ready` summarises.
"""
