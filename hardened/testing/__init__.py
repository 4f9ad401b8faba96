"""hardened.testing: public hypothesis strategies for security teams' own suites.

Each module builds valid signed artefacts and every defect class the matching verifier must refuse, with a
fixed clock, so that a deployment can fuzz its own endpoints with the same generators hardened's tests use.
"""
