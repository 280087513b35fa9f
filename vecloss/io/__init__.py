"""Readers and writers: one module per format (:mod:`vecloss.io.formats` picks by suffix),
databases (:mod:`vecloss.io.database`), a source opened once (:mod:`vecloss.io.source`) and
the sinks that publish results whole (:mod:`vecloss.io.sink`)."""
