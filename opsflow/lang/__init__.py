"""The language front end: ``.sop`` text → checked model.

Reading files and includes (:mod:`.loader`), parsing with the Lark grammar
(:mod:`.parser`, :mod:`.transformer`), the typed model (:mod:`.model`), the
named checks (:mod:`.checks`) and their diagnostics (:mod:`.diagnostics`).
Nothing here runs, stores or renders anything; the run stage
(:mod:`opsflow.run`) starts from the model this package produces.
"""
