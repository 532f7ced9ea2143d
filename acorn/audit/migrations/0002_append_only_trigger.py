"""On PostgreSQL, make the audit table append-only in the database too: UPDATE and DELETE raise.

The model refuses changes in Python; the trigger covers raw SQL, bulk updates and other clients.
SQLite (the embedded default) relies on the model alone.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION audit_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    -- The one change allowed: forgetting the actor when their user account is deleted
    -- (actor_label still says who it was).
    IF TG_OP = 'UPDATE' AND NEW.actor_id IS NULL
       AND ROW(NEW.id, NEW.tenant_id, NEW.actor_label, NEW.action, NEW.object_type, NEW.object_id,
               NEW.object_repr, NEW.before, NEW.after, NEW.request_id, NEW.created_at)::text
           = ROW(OLD.id, OLD.tenant_id, OLD.actor_label, OLD.action, OLD.object_type, OLD.object_id,
                 OLD.object_repr, OLD.before, OLD.after, OLD.request_id, OLD.created_at)::text THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_auditevent_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_auditevent_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_auditevent_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_auditevent_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
