-- Version 1: seed table etl_ejecuciones (adopted in place when it exists).
--
-- A new database gets the seed's DDL, with a sequence for the id (the seed's
-- "auto-increment"). An existing etl_ejecuciones is adopted when it has every seed column (by
-- name): its rows and its id default are kept; without an id default it gets the sequence
-- klk_seq_etl_ejecuciones, starting after the highest id (klk-etl then takes ids from it). A
-- table of that name without the seed's columns is another program's: refused, never altered.
-- The seed's DROP TABLE is never run.

DO $klk$
DECLARE
    seed_columns CONSTANT text[] := ARRAY[
        'id', 'etl_tipo', 'ubicacion_id', 'ubicacion_nombre', 'fecha_inicio', 'fecha_fin',
        'duracion_segundos', 'fecha_desde', 'fecha_hasta', 'hora_desde', 'hora_hasta', 'estado',
        'registros_extraidos', 'registros_cargados', 'error_mensaje', 'error_tipo', 'modo',
        'version_etl', 'host'];
    present text[];
    missing text[];
    lacks text;
    next_id bigint;
BEGIN
    SELECT array_agg(a.attname::text) INTO present
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    WHERE c.relname = 'etl_ejecuciones' AND c.relnamespace = current_schema()::regnamespace
      AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped;

    IF present IS NULL THEN
        CREATE SEQUENCE IF NOT EXISTS seq_etl_ejecuciones START 1;
        CREATE TABLE etl_ejecuciones (
            id INTEGER PRIMARY KEY DEFAULT nextval('seq_etl_ejecuciones'),
            etl_tipo VARCHAR NOT NULL,
            ubicacion_id VARCHAR NOT NULL,
            ubicacion_nombre VARCHAR NOT NULL,
            fecha_inicio TIMESTAMP NOT NULL,
            fecha_fin TIMESTAMP,
            duracion_segundos DOUBLE PRECISION,
            fecha_desde DATE NOT NULL,
            fecha_hasta DATE NOT NULL,
            hora_desde TIME,
            hora_hasta TIME,
            estado VARCHAR NOT NULL,
            registros_extraidos INTEGER DEFAULT 0,
            registros_cargados INTEGER DEFAULT 0,
            error_mensaje TEXT,
            error_tipo VARCHAR,
            modo VARCHAR,
            version_etl VARCHAR,
            host VARCHAR
        );
        RETURN;
    END IF;

    SELECT array_agg(s ORDER BY o) INTO missing
    FROM unnest(seed_columns) WITH ORDINALITY AS u(s, o)
    WHERE NOT s = ANY (present);
    IF missing IS NOT NULL THEN
        IF cardinality(missing) > 4 THEN
            lacks := format('%s of the %s seed columns, e.g. %s', cardinality(missing),
                            cardinality(seed_columns), array_to_string(missing[1:3], ', '));
        ELSE
            lacks := array_to_string(missing, ', ');
        END IF;
        RAISE EXCEPTION USING
            ERRCODE = 'KLK01',
            MESSAGE = format('the database already has a table ''etl_ejecuciones'' that is not the original system''s (it lacks %s); klk-etl will not adopt or alter it: rename it (ALTER TABLE etl_ejecuciones RENAME TO etl_ejecuciones_anterior) or use another database', lacks);
    END IF;

    IF (SELECT pg_get_expr(d.adbin, d.adrelid)
        FROM pg_catalog.pg_attrdef d
        JOIN pg_catalog.pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
        WHERE d.adrelid = format('%I.etl_ejecuciones', current_schema())::regclass
          AND a.attname = 'id') IS NULL THEN
        EXECUTE 'SELECT coalesce(max(id), 0) + 1 FROM etl_ejecuciones' INTO next_id;
        EXECUTE format('CREATE SEQUENCE IF NOT EXISTS klk_seq_etl_ejecuciones START %s', next_id);
    END IF;
END
$klk$;
