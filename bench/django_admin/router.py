class DeskRouter:
    """The mapped desk tables live in the desk's file; Django's own tables in a scratch one."""

    def db_for_read(self, model, **hints):
        return "desk" if model._meta.app_label == "django_admin" else None

    db_for_write = db_for_read

    def allow_migrate(self, db, app_label, **hints):
        return db == "default" and app_label != "django_admin"
