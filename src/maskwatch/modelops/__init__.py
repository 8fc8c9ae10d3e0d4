"""Model operations: compare two mask classifiers on the same data (`maskwatch models compare`), promote one to be
the running service's classifier and roll back (`models promote | rollback | list`), and the retraining noise that
a comparison's verdict is read against (`models spread`)."""
