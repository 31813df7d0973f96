"""Geometry implementation modules; import from :mod:`kanpde.geometry`."""
