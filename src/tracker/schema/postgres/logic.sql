-- The gap and metric logic on PostgreSQL: the same functions, with the same parameters and the
-- same rows, as DuckDB's table macros in src/tracker/schema.rs, and the three seed views.
-- Installed (CREATE OR REPLACE) once after the last pending migration, in its transaction.
--
-- Dialect notes (what differs from the DuckDB text, and why the rows do not):
-- * "Now" in store time is UTC now plus etl_configuracion.utc_offset_minutos, never the
--   session's TimeZone: now() AT TIME ZONE 'UTC' is UTC wall time whatever the session says.
--   Every timestamp here is TIMESTAMP (without time zone), store-local, as on DuckDB.
-- * A NULL argument means "the stored setting" (or the real now), as on DuckDB; every
--   parameter also has a default of NULL, so klk_gaps() alone is the view's answer.
-- * DuckDB's arg_max(x, y) (x at the row with the greatest y, rows where x or y is NULL left
--   out) is (array_agg(x ORDER BY y DESC, id DESC) FILTER (WHERE x IS NOT NULL ...))[1]; on a
--   tie of y the highest id wins here, where DuckDB takes whichever row it met first.
-- * DuckDB's round(DOUBLE, n) (round half away from zero of x * 10^n, divided back) is
--   klk_round, not PostgreSQL's round(numeric), which can differ in the last digit.
-- * quantile_cont(x, 0.95) is klk_quantile_cont over the sorted values, DuckDB's formula (see
--   there). A mean duration is whole microseconds added up, divided by the count, on both
--   engines: a sum of DOUBLEs (avg) depends on the order rows are added in, and a mean on a
--   half of its last kept digit (round(..., 3)) then rounds either way.
-- * range()/unnest() become generate_series over integers (dates as a base date plus a day
--   count: a generate_series over dates would pick timestamptz and the session's zone).
-- * Result columns are typed for the Rust client: counts and ids BIGINT, hours and
--   percentages DOUBLE PRECISION, TIMESTAMP, DATE, TIME.
-- * The table functions run with `SET jit = off`. Their plans are cheap to run but the planner
--   cannot see how few rows a generate_series over computed bounds makes (it assumes 1000), so
--   its cost estimate passes jit_above_cost and JIT compilation (on by default since
--   PostgreSQL 12, and on most managed servers) takes seconds where the query takes
--   milliseconds (measured: klk_verificaciones 2,600 ms with JIT, 3 ms without). A function
--   with a SET clause is not inlined into the calling query: each runs as a unit, as DuckDB's
--   table macros are read here anyway (whole, then filtered).
-- * Wrappers: klk_gaps, klk_verificaciones and klk_metricas are small PL/pgSQL functions that
--   resolve NULL arguments to the stored settings (once), then run the SQL function of the same
--   name with _q, which PostgreSQL inlines into that one query, planned for these very values
--   (plan_cache_mode = force_custom_plan): its date bounds are then constants, and the planner
--   reads only the horizon through an index instead of the whole table (measured at 100
--   stores x 365 days), sorting in memory (work_mem 64MB: a month of metrics at 100 stores
--   is some 300,000 rows). The _q functions take every argument resolved (none NULL but the
--   verification ones, NULL when it is off) and are not for other callers.
-- * If a later version changes a function's columns, DROP the views, then the function, and
--   create both again (CREATE OR REPLACE cannot change a result type); never with CASCADE,
--   which would drop the user's own views too.
--
-- Concurrency (many runners): run migrations under
--   SELECT pg_advisory_xact_lock(hashtext('klk-etl'), 0);
-- and read max(etl_schema_version.version) after taking it, so that runners started together
-- migrate once.

-- Helpers ---------------------------------------------------------------------------------------

-- Microseconds since 1970-01-01 of a wall-clock TIMESTAMP (DuckDB's epoch_us on a TIMESTAMP).
CREATE OR REPLACE FUNCTION klk_epoch_us(ts timestamp) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (extract(epoch FROM ts) * 1000000)::bigint $$;

-- Microseconds since midnight of a TIME (exact: a day's seconds fit a DOUBLE's fraction), for
-- epoch arithmetic by parts, without making a TIMESTAMP per row.
CREATE OR REPLACE FUNCTION klk_time_us(t time) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT round(date_part('epoch', t) * 1000000)::bigint $$;

-- The TIMESTAMP that many microseconds after 1970-01-01 (DuckDB's make_timestamp).
CREATE OR REPLACE FUNCTION klk_make_timestamp(us bigint) RETURNS timestamp
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT TIMESTAMP '1970-01-01 00:00:00' + us * INTERVAL '1 microsecond' $$;

-- The first and last slot (by index k: slot_start = k * slot_us) that a sales window of day d
-- from hora_desde to hora_hasta (NULL: the whole day) covers: those starting at or after
-- d + hora_desde and ending at most a second after d + hora_hasta (klk_epoch_us of d + the
-- time, by parts: no timestamp made per row). Shared by klk_gaps and the kept coverage.
CREATE OR REPLACE FUNCTION klk_cubre_desde(d date, hora_desde time, slot_us bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ((d - DATE '1970-01-01')::bigint * 86400000000 + coalesce(klk_time_us(hora_desde), 0)
        + slot_us - 1) / slot_us
$$;
CREATE OR REPLACE FUNCTION klk_cubre_hasta(d date, hora_hasta time, slot_us bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ((d - DATE '1970-01-01')::bigint * 86400000000 + coalesce(klk_time_us(hora_hasta), 86400000000)
        + 1000000 - slot_us) / slot_us
$$;

-- DuckDB's round(DOUBLE, n): std::round(x * 10^n) / 10^n, halves away from zero.
CREATE OR REPLACE FUNCTION klk_round(x double precision, n integer) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN abs(x * power(10::double precision, n) - trunc(x * power(10::double precision, n))) = 0.5
            THEN trunc(x * power(10::double precision, n)) + sign(x * power(10::double precision, n))
        ELSE round(x * power(10::double precision, n))
    END / power(10::double precision, n)
$$;

-- DuckDB's quantile_cont(x, q) over values already sorted (NULLs left out): at RN = (n - 1) * q,
-- lo * (1 - d) + hi * d with d = RN - floor(RN), as klk-etl's bundled DuckDB computes it (PostgreSQL's
-- percentile_cont computes lo + (hi - lo) * d, which can differ in the last bit, and so in the
-- last digit once rounded).
CREATE OR REPLACE FUNCTION klk_quantile_cont(sorted double precision[], q double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
-- One expression, no FROM: inlined into the calling query (a function with a FROM runs as a
-- statement of its own per call: 6,000 of them for a month of metrics at 100 stores).
AS $$
    SELECT CASE
        WHEN floor((cardinality(sorted) - 1)::double precision * q)
             = ceil((cardinality(sorted) - 1)::double precision * q)
            THEN sorted[floor((cardinality(sorted) - 1)::double precision * q)::int + 1]
        ELSE sorted[floor((cardinality(sorted) - 1)::double precision * q)::int + 1]
                 * (1.0::double precision - ((cardinality(sorted) - 1)::double precision * q
                                             - floor((cardinality(sorted) - 1)::double precision * q)))
             + sorted[ceil((cardinality(sorted) - 1)::double precision * q)::int + 1]
                 * ((cardinality(sorted) - 1)::double precision * q
                    - floor((cardinality(sorted) - 1)::double precision * q))
    END
$$;

-- The values of an array in order (NULLs last), and arrays appended into one (an aggregate a
-- hash can group by, where an ordered array_agg needs a sort of every row first).
CREATE OR REPLACE FUNCTION klk_ordenado(x double precision[]) RETURNS double precision[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT array_agg(v ORDER BY v) FROM unnest(x) AS v $$;

CREATE OR REPLACE AGGREGATE klk_concat(double precision[]) (
    SFUNC = array_cat,
    STYPE = double precision[]
);

-- SQL hooks ---------------------------------------------------------------------------------------

-- DuckDB's getvariable for the values klk-etl hands an SQL hook: getvariable('klk_store') reads
-- the transaction-local setting klk.store that klk-etl sets before the hook's statements. Text
-- here (cast it: CAST(getvariable('klk_date') AS DATE) works on both engines); NULL for a name
-- not set, or set empty (no window time).
CREATE OR REPLACE FUNCTION getvariable(name text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN name LIKE 'klk\_%'
        THEN nullif(current_setting('klk.' || substr(name, 5), true), '')
    END
$$;

-- "Now" -----------------------------------------------------------------------------------------

-- "Now" as store-local wall time: UTC plus the stored offset, whatever the session's TimeZone.
CREATE OR REPLACE FUNCTION klk_now_local() RETURNS timestamp
LANGUAGE sql STABLE
AS $$
    SELECT (now() AT TIME ZONE 'UTC') + make_interval(mins => utc_offset_minutos)
    FROM etl_configuracion
$$;

-- klk_resumen -----------------------------------------------------------------------------------

-- Every (tipo, store, estado) of etl_ejecuciones with its count, rows loaded, first and latest
-- start, latest name, first window start and latest end (see SUMMARY_MACRO in schema.rs).
-- etl_resumen holds these figures for every row up to etl_resumen_estado.hasta_id but the ones
-- then en_proceso (their ids are in etl_resumen_pendientes); the rows since and the pending
-- ones are read live. If the counts do not add up (rows deleted or added below hasta_id), or
-- the summary was never built, the whole table is read instead.
CREATE OR REPLACE FUNCTION klk_resumen()
RETURNS TABLE (
    etl_tipo varchar, ubicacion_id varchar, estado varchar, ejecuciones bigint,
    registros_cargados bigint, primer_inicio timestamp, ultimo_inicio timestamp,
    ubicacion_nombre varchar, primera_ventana timestamp, ultimo_fin timestamp
)
LANGUAGE sql STABLE
SET jit = off
AS $$
WITH
s AS (
    SELECT r.hasta_id, r.filas FROM etl_resumen_estado r WHERE r.id = 1
),
-- Valid while its row exists: on PostgreSQL the triggers of 007_summary.sql delete it when rows
-- are deleted, or inserted at or below hasta_id (DuckDB compares counts instead; a count of
-- the whole table is not free here).
ok AS (
    SELECT s.hasta_id, true AS valido
    FROM s
),
filas AS (
    SELECT e.id, e.etl_tipo, e.ubicacion_id, e.estado, e.registros_cargados, e.fecha_inicio,
        e.ubicacion_nombre, e.fecha_desde + coalesce(e.hora_desde, TIME '00:00:00') AS w_start,
        coalesce(e.fecha_fin, e.fecha_inicio) AS fin
    FROM etl_ejecuciones e, ok
    WHERE ok.valido AND e.id > ok.hasta_id
    UNION ALL
    SELECT e.id, e.etl_tipo, e.ubicacion_id, e.estado, e.registros_cargados, e.fecha_inicio,
        e.ubicacion_nombre, e.fecha_desde + coalesce(e.hora_desde, TIME '00:00:00'),
        coalesce(e.fecha_fin, e.fecha_inicio)
    FROM etl_ejecuciones e
    WHERE e.id IN (SELECT p.id FROM etl_resumen_pendientes p, ok WHERE ok.valido AND p.id <= ok.hasta_id)
    UNION ALL
    SELECT e.id, e.etl_tipo, e.ubicacion_id, e.estado, e.registros_cargados, e.fecha_inicio,
        e.ubicacion_nombre, e.fecha_desde + coalesce(e.hora_desde, TIME '00:00:00'),
        coalesce(e.fecha_fin, e.fecha_inicio)
    FROM etl_ejecuciones e
    WHERE NOT coalesce((SELECT valido FROM ok), false)
),
todo AS (
    SELECT r.etl_tipo, r.ubicacion_id, r.estado, r.ejecuciones, r.registros_cargados,
        r.primer_inicio, r.ultimo_inicio, r.ubicacion_nombre, r.primera_ventana, r.ultimo_fin
    FROM etl_resumen r, ok
    WHERE ok.valido
    UNION ALL
    SELECT f.etl_tipo, f.ubicacion_id, f.estado, count(*),
        coalesce(sum(f.registros_cargados), 0)::bigint, min(f.fecha_inicio), max(f.fecha_inicio),
        (array_agg(f.ubicacion_nombre ORDER BY f.fecha_inicio DESC, f.id DESC)
            FILTER (WHERE f.ubicacion_nombre IS NOT NULL))[1],
        min(f.w_start), max(f.fin)
    FROM filas f
    GROUP BY f.etl_tipo, f.ubicacion_id, f.estado
)
SELECT t.etl_tipo, t.ubicacion_id, t.estado,
    sum(t.ejecuciones)::bigint AS ejecuciones,
    sum(t.registros_cargados)::bigint AS registros_cargados,
    min(t.primer_inicio) AS primer_inicio,
    max(t.ultimo_inicio) AS ultimo_inicio,
    (array_agg(t.ubicacion_nombre ORDER BY t.ultimo_inicio DESC)
        FILTER (WHERE t.ubicacion_nombre IS NOT NULL AND t.ultimo_inicio IS NOT NULL))[1]
        AS ubicacion_nombre,
    min(t.primera_ventana) AS primera_ventana,
    max(t.ultimo_fin) AS ultimo_fin
FROM todo t
GROUP BY t.etl_tipo, t.ubicacion_id, t.estado
$$;

-- Brings etl_resumen up to date from what klk_resumen() answers now, in one statement (one
-- snapshot: nothing counted twice or missed); p_completo first forgets the summary, so the
-- whole table is read (also picks up hand edits of finished rows). Cheap while the summary is
-- valid. Returns false, doing nothing, when it cannot have the table to itself right now:
-- another session refreshing, or a transaction writing etl_ejecuciones (whose rows, committed
-- later with ids below the new hasta_id, the summary would miss). It is an optimisation only:
-- the summary stays correct as it is, and klk_resumen() reads the rows since. Call it in READ
-- COMMITTED (the default), outside a long transaction: SELECT klk_refrescar_resumen(false);
CREATE OR REPLACE FUNCTION klk_refrescar_resumen(p_completo boolean DEFAULT false)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    BEGIN
        -- Refreshers one at a time (two would both insert); readers are not blocked.
        LOCK TABLE etl_resumen_estado IN EXCLUSIVE MODE NOWAIT;
        -- No writer in flight, none until the commit: every id up to max(id) is final.
        LOCK TABLE etl_ejecuciones IN SHARE MODE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RETURN false;
    END;
    IF p_completo THEN
        DELETE FROM etl_resumen_estado;
    END IF;
    WITH
    nuevo AS MATERIALIZED (
        SELECT * FROM klk_resumen() r WHERE r.estado <> 'en_proceso'
    ),
    corte AS MATERIALIZED (
        SELECT coalesce(max(e.id), 0) AS hasta_id, count(*) AS filas FROM etl_ejecuciones e
    ),
    borrar_resumen AS (DELETE FROM etl_resumen),
    poner_resumen AS (INSERT INTO etl_resumen SELECT * FROM nuevo),
    borrar_pendientes AS (DELETE FROM etl_resumen_pendientes),
    poner_pendientes AS (
        INSERT INTO etl_resumen_pendientes SELECT e.id FROM etl_ejecuciones e WHERE e.estado = 'en_proceso'
    )
    INSERT INTO etl_resumen_estado (id, hasta_id, filas, actualizado)
        SELECT 1, corte.hasta_id, corte.filas, now() AT TIME ZONE 'UTC' FROM corte
    ON CONFLICT (id) DO UPDATE SET hasta_id = excluded.hasta_id, filas = excluded.filas,
        actualizado = excluded.actualizado;
    PERFORM klk_llenar_metricas(3);
    PERFORM klk_llenar_cobertura(8);
    RETURN true;
END
$$;

-- klk_tiendas -----------------------------------------------------------------------------------

-- The stores gaps are computed for: the active ones of etl_tiendas, plus any store with
-- executions that the registry does not know (an adopted table), with where each one's sales
-- are expected from (desde, or its first sales window) and whether it has stock history.
CREATE OR REPLACE FUNCTION klk_tiendas()
RETURNS TABLE (
    ubicacion_id varchar, ubicacion_nombre varchar, hora_apertura time, hora_cierre time,
    desde date, primera_ventas timestamp, con_inventario boolean, esperado_desde timestamp
)
LANGUAGE sql STABLE
SET jit = off
AS $$
WITH dir AS (
    SELECT r.ubicacion_id,
        (array_agg(r.ubicacion_nombre ORDER BY r.ultimo_inicio DESC)
            FILTER (WHERE r.ubicacion_nombre IS NOT NULL AND r.ultimo_inicio IS NOT NULL))[1]
            AS ubicacion_nombre,
        min(r.primera_ventana) FILTER (WHERE r.etl_tipo = 'ventas') AS primera_ventas,
        bool_or(r.etl_tipo = 'inventario') AS con_inventario
    FROM klk_resumen() r
    GROUP BY r.ubicacion_id
),
t AS (
    SELECT t.ubicacion_id, t.ubicacion_nombre, t.hora_apertura, t.hora_cierre, t.desde,
        d.primera_ventas, coalesce(d.con_inventario, false) AS con_inventario
    FROM etl_tiendas t
    LEFT JOIN dir d USING (ubicacion_id)
    WHERE t.activa
    UNION ALL
    SELECT d.ubicacion_id, d.ubicacion_nombre, NULL::time, NULL::time, NULL::date,
        d.primera_ventas, d.con_inventario
    FROM dir d
    WHERE d.ubicacion_id NOT IN (SELECT ubicacion_id FROM etl_tiendas)
)
SELECT t.ubicacion_id, t.ubicacion_nombre, t.hora_apertura, t.hora_cierre, t.desde,
    t.primera_ventas, t.con_inventario,
    coalesce(t.desde::timestamp, t.primera_ventas) AS esperado_desde
FROM t
$$;

-- klk_verificaciones ----------------------------------------------------------------------------

-- Every closed sales day of every expected store inside the horizon, and whether (and when) it
-- was verified: a whole-day sales load of the store that succeeded and started after the day
-- closed (p_close_min after its midnight), whatever its modo. Days before
-- etl_configuracion.verificacion_desde are not listed; nor is anything when verification is
-- off (no closing time stored, or a negative p_close_min). See VERIFICATIONS_MACRO.
CREATE OR REPLACE FUNCTION klk_verificaciones_q(
    p_now timestamp,
    p_horizon_min bigint,
    p_close_min bigint,
    p_deadline_min bigint,
    p_stuck_min bigint,
    p_desde date
)
RETURNS TABLE (
    ubicacion_id varchar, ubicacion_nombre varchar, fecha date, cierre timestamp,
    plazo timestamp, verificado_en timestamp, en_curso boolean, intentos bigint,
    primer_fallo timestamp, ultimo_intento timestamp, ultimo_estado varchar,
    ultimo_error_tipo varchar, ultimo_error_mensaje text, ultima_ejecucion_id bigint,
    vencido boolean
)
LANGUAGE sql STABLE
AS $$
WITH
p AS (
    SELECT p_now AS now_ts, p_horizon_min AS horizon_min, p_close_min AS close_min,
        p_deadline_min AS deadline_min, p_stuck_min AS stuck_min, p_desde AS desde
),
p2 AS (
    SELECT p.*,
        (p.now_ts - make_interval(mins => p.horizon_min::int))::date AS first_day,
        (p.now_ts - make_interval(mins => p.close_min::int))::date - 1 AS last_day,
        p.now_ts - make_interval(mins => p.stuck_min::int) AS live_since
    FROM p
    WHERE p.close_min IS NOT NULL AND p.close_min >= 0
),
dias AS (
    SELECT t.ubicacion_id, t.ubicacion_nombre, b.primero + i AS fecha
    FROM klk_tiendas() t
    CROSS JOIN p2
    CROSS JOIN LATERAL (
        -- a store's first day counts only when it was expected from its midnight (a store
        -- whose first window started at 08:30 is not asked to verify that day)
        SELECT greatest((t.esperado_desde + interval '1 day' - interval '1 microsecond')::date,
                        p2.first_day, coalesce(p2.desde, p2.first_day)) AS primero
    ) b
    CROSS JOIN LATERAL generate_series(0, p2.last_day - b.primero) AS i
    WHERE t.esperado_desde IS NOT NULL
),
ex AS (
    SELECT e.id, e.ubicacion_id, e.estado, e.error_tipo, e.error_mensaje, e.fecha_inicio,
        e.fecha_fin, e.fecha_desde, e.fecha_hasta,
        (e.estado = 'en_proceso' AND e.fecha_inicio >= p2.live_since) AS vivo
    FROM etl_ejecuciones e, p2
    WHERE e.etl_tipo = 'ventas' AND e.hora_desde IS NULL AND e.hora_hasta IS NULL
      AND e.fecha_hasta >= p2.first_day AND e.fecha_desde <= p2.last_day
      -- the same bounds from the arguments, which the planner sees as constants (an index range)
      AND e.fecha_hasta >= (p_now - make_interval(mins => p_horizon_min::int))::date
),
intentos AS (
    SELECT d.ubicacion_id, d.fecha, x.id, x.estado, x.error_tipo, x.error_mensaje,
        x.fecha_inicio, x.fecha_fin, x.vivo,
        (x.estado IN ('fallido', 'parcial') OR (x.estado = 'en_proceso' AND NOT x.vivo)) AS fallo
    FROM dias d
    CROSS JOIN p2
    JOIN ex x
      ON x.ubicacion_id = d.ubicacion_id AND x.fecha_desde <= d.fecha AND x.fecha_hasta >= d.fecha
     AND x.fecha_inicio >= (d.fecha + 1)::timestamp + make_interval(mins => p2.close_min::int)
),
por_dia AS (
    SELECT i.ubicacion_id, i.fecha,
        min(coalesce(i.fecha_fin, i.fecha_inicio)) FILTER (WHERE i.estado = 'exitoso') AS verificado_en,
        coalesce(bool_or(i.vivo), false) AS en_curso,
        count(*) FILTER (WHERE i.fallo) AS intentos,
        min(i.fecha_inicio) FILTER (WHERE i.fallo) AS primer_fallo,
        max(i.fecha_inicio) FILTER (WHERE i.fallo) AS ultimo_intento,
        (array_agg(i.estado ORDER BY i.fecha_inicio DESC, i.id DESC)
            FILTER (WHERE i.fallo AND i.estado IS NOT NULL))[1] AS ultimo_estado,
        (array_agg(i.error_tipo ORDER BY i.fecha_inicio DESC, i.id DESC)
            FILTER (WHERE i.fallo AND i.error_tipo IS NOT NULL))[1] AS ultimo_error_tipo,
        (array_agg(i.error_mensaje ORDER BY i.fecha_inicio DESC, i.id DESC)
            FILTER (WHERE i.fallo AND i.error_mensaje IS NOT NULL))[1] AS ultimo_error_mensaje,
        max(i.id) FILTER (WHERE i.fallo) AS ultima_ejecucion_id
    FROM intentos i
    GROUP BY i.ubicacion_id, i.fecha
)
SELECT
    d.ubicacion_id, d.ubicacion_nombre, d.fecha,
    (d.fecha + 1)::timestamp + make_interval(mins => p2.close_min::int) AS cierre,
    (d.fecha + 1)::timestamp + make_interval(mins => p2.deadline_min::int) AS plazo,
    v.verificado_en,
    coalesce(v.en_curso, false) AS en_curso,
    coalesce(v.intentos, 0)::bigint AS intentos,
    v.primer_fallo, v.ultimo_intento, v.ultimo_estado, v.ultimo_error_tipo,
    v.ultimo_error_mensaje::text, v.ultima_ejecucion_id::bigint,
    p2.now_ts >= (d.fecha + 1)::timestamp + make_interval(mins => p2.deadline_min::int) AS vencido
FROM dias d
CROSS JOIN p2
LEFT JOIN por_dia v USING (ubicacion_id, fecha)
$$;


-- What klk-etl and the seed views call: the stored settings for NULL arguments, then the
-- query above with every bound a constant of its plan (see the header: wrappers).
CREATE OR REPLACE FUNCTION klk_verificaciones(
    p_now timestamp DEFAULT NULL,
    p_horizon_min bigint DEFAULT NULL,
    p_close_min bigint DEFAULT NULL,
    p_deadline_min bigint DEFAULT NULL,
    p_stuck_min bigint DEFAULT NULL
)
RETURNS TABLE (
    ubicacion_id varchar, ubicacion_nombre varchar, fecha date, cierre timestamp,
    plazo timestamp, verificado_en timestamp, en_curso boolean, intentos bigint,
    primer_fallo timestamp, ultimo_intento timestamp, ultimo_estado varchar,
    ultimo_error_tipo varchar, ultimo_error_mensaje text, ultima_ejecucion_id bigint,
    vencido boolean
)
LANGUAGE plpgsql STABLE
SET jit = off
SET plan_cache_mode = force_custom_plan
SET work_mem = '64MB'
AS $$
#variable_conflict use_column
DECLARE
    c etl_configuracion%ROWTYPE;
BEGIN
    SELECT * INTO c FROM etl_configuracion WHERE etl_configuracion.id = 1;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM klk_verificaciones_q(
        coalesce(p_now, klk_now_local()),
        coalesce(p_horizon_min, c.horizonte_minutos),
        coalesce(p_close_min, c.verificacion_cierre_minutos),
        coalesce(p_deadline_min, c.verificacion_plazo_minutos),
        coalesce(p_stuck_min, c.atascado_minutos),
        c.verificacion_desde);
END
$$;

-- klk_gaps --------------------------------------------------------------------------------------

-- Gaps of both tipos (see GAPS_MACRO in schema.rs and docs/gaps.md). NULL arguments take the
-- values stored in etl_configuracion, which is what the view does; klk-etl passes its own
-- (pinned) now and settings.
CREATE OR REPLACE FUNCTION klk_gaps_q(
    p_now timestamp,
    p_horizon_min bigint,
    p_slot_min bigint,
    p_stuck_min bigint,
    p_grace_min bigint,
    p_stale_min bigint,
    p_close_min bigint,
    p_deadline_min bigint,
    p_desde date,
    p_vivo_desde date
)
RETURNS TABLE (
    etl_tipo varchar, ubicacion_id varchar, ubicacion_nombre varchar, fecha_desde date,
    fecha_hasta date, hora_desde time, hora_hasta time, fecha_fallo timestamp,
    error_tipo varchar, error_mensaje text, horas_desde_fallo double precision,
    causa varchar, intentos bigint, slots bigint, ultima_ejecucion_id bigint,
    ventana_desde timestamp, ventana_hasta timestamp, ultimo_intento timestamp,
    intentos_tras_exito bigint
)
LANGUAGE sql STABLE
AS $$
WITH
p AS (
    SELECT p_now AS now_ts, p_horizon_min AS horizon_min, p_slot_min AS slot_min,
        p_stuck_min AS stuck_min, p_grace_min AS grace_min, p_stale_min AS stale_min
),
p2 AS (
    SELECT p.*,
        p.now_ts - make_interval(mins => p.horizon_min::int) AS horizon_ts,
        p.slot_min * 60000000 AS slot_us,
        klk_epoch_us(p.now_ts) AS now_us,
        p.now_ts - make_interval(mins => p.stuck_min::int) AS live_since,
        -- inventory rows from here on decide a store whose latest success ends after it
        least(p.now_ts - make_interval(mins => p.horizon_min::int),
              p.now_ts - make_interval(mins => p.stuck_min::int)) AS i_cut
    FROM p
),
tiendas AS (
    SELECT * FROM klk_tiendas()
),
-- ventas ---------------------------------------------------------------------------------------
-- The days of the horizon whose coverage is kept (016_coverage_by_day.sql); p_vivo_desde is
-- the first one that is not (klk_gaps works it out): the executions reaching it or later
-- cover the days not kept, live.
v_guardados AS (
    SELECT d.fecha FROM etl_cobertura_dias d
    WHERE d.slot_minutos = p_slot_min
      AND d.fecha >= (p_now - make_interval(mins => p_horizon_min::int))::date
      AND d.fecha <= p_now::date
),
v_ex AS (
    SELECT e.ubicacion_id, e.fecha_desde, e.fecha_hasta, e.hora_desde, e.hora_hasta
    FROM etl_ejecuciones e
    -- from the arguments: constants of the plan (an index range)
    WHERE e.etl_tipo = 'ventas'
      AND e.fecha_hasta >= p_vivo_desde
      AND e.fecha_desde <= p_now::date
      AND (e.estado = 'exitoso'
           OR (e.estado = 'en_proceso' AND e.fecha_inicio >= p_now - make_interval(mins => p_stuck_min::int)))
),
-- The attempts that did not succeed, of the whole horizon (a partial index: a few percent of
-- the executions).
v_fallos AS (
    SELECT
        e.id, e.ubicacion_id, e.estado, e.error_tipo, e.error_mensaje, e.fecha_inicio,
        e.fecha_desde + coalesce(e.hora_desde, TIME '00:00:00') AS w_start,
        CASE WHEN e.hora_hasta IS NULL THEN (e.fecha_hasta + 1)::timestamp
             ELSE e.fecha_hasta + e.hora_hasta END AS w_end
    FROM etl_ejecuciones e
    WHERE e.etl_tipo = 'ventas' AND e.estado <> 'exitoso'
      AND e.fecha_hasta >= (p_now - make_interval(mins => p_horizon_min::int))::date
      AND e.fecha_desde <= p_now::date
      AND e.estado IN ('fallido', 'parcial', 'en_proceso')
      AND NOT (e.estado = 'en_proceso' AND e.fecha_inicio >= p_now - make_interval(mins => p_stuck_min::int))
),
v_inicio AS (
    SELECT t.* FROM tiendas t WHERE t.esperado_desde IS NOT NULL
),
-- The slots each store should have, by index k (slot_start = k * slot): from its first
-- expected slot inside the horizon to the last one ended by now; and the store's number n,
-- which places its slots in a range of their own (n * 2^40 + k: one integer to sort by).
v_bounds AS (
    SELECT i.ubicacion_id, i.ubicacion_nombre, i.hora_apertura, i.hora_cierre,
        row_number() OVER (ORDER BY i.ubicacion_id) * 1099511627776 AS base,
        (klk_epoch_us(greatest(i.esperado_desde, p2.horizon_ts)) + p2.slot_us - 1) / p2.slot_us AS first_k,
        p2.now_us / p2.slot_us - 1 AS last_k
    FROM v_inicio i
    CROSS JOIN p2
),
-- The slots (by index k) each success (or live run) covers: on each day d of its dates inside
-- the horizon (and not kept), those starting at or after d + hora_desde and ending at most a
-- second after d + hora_hasta (or midnight): k from lo to hi (klk_cubre_desde/_hasta).
v_cover_days AS (
    SELECT x.ubicacion_id, x.hora_desde, x.hora_hasta, x.fecha_desde AS d
    FROM v_ex x
    WHERE x.fecha_desde = x.fecha_hasta
      AND x.fecha_desde NOT IN (SELECT g.fecha FROM v_guardados g)
    UNION ALL
    SELECT x.ubicacion_id, x.hora_desde, x.hora_hasta, b.primero + i AS d
    FROM v_ex x
    CROSS JOIN p2
    CROSS JOIN LATERAL (
        SELECT greatest(x.fecha_desde, p2.horizon_ts::date) AS primero,
               least(x.fecha_hasta, p2.now_ts::date) AS ultimo
    ) b
    CROSS JOIN LATERAL generate_series(0, b.ultimo - b.primero) AS i
    WHERE x.fecha_desde <> x.fecha_hasta
      AND b.primero + i NOT IN (SELECT g.fecha FROM v_guardados g)
),
v_cover AS (
    SELECT c.ubicacion_id,
        klk_cubre_desde(c.d, c.hora_desde, p2.slot_us) AS lo,
        klk_cubre_hasta(c.d, c.hora_hasta, p2.slot_us) AS hi
    FROM v_cover_days c
    CROSS JOIN p2
    UNION ALL
    SELECT c.ubicacion_id, c.desde_k, c.hasta_k
    FROM etl_cobertura_dia c
    WHERE c.fecha IN (SELECT g.fecha FROM v_guardados g) AND c.slot_minutos = p_slot_min
),
-- The covered ranges of the expected stores in order (by n * 2^40 + lo), each with the furthest
-- slot the ranges before it reach: the slots between that reach and the range's start are
-- covered by none (DuckDB lists every covered k and anti-joins; the uncovered slots are the
-- same, and only they are made here, not every slot of the horizon). A reach below the
-- store's own base is another store's: none.
v_reach AS (
    SELECT r.ubicacion_id, r.lo, r.hi,
        CASE WHEN r.antes >= r.base THEN r.antes - r.base END AS antes
    FROM (
        SELECT b.ubicacion_id, b.base, c.lo, c.hi,
            max(b.base + c.hi) OVER (ORDER BY b.base + c.lo
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS antes
        FROM v_cover c
        JOIN v_bounds b USING (ubicacion_id)
        -- inside the horizon (and so within a store's 2^40 slots)
        WHERE c.lo <= c.hi AND c.hi >= b.first_k AND c.lo <= b.last_k
    ) r
),
-- The runs of uncovered slots: before each range (after what the earlier ones reach, or from
-- the first slot), and after the last one (or all of them, for a store with none).
v_holes AS (
    SELECT r.ubicacion_id, coalesce(r.antes + 1, -9223372036854775807) AS desde_k, r.lo - 1 AS hasta_k
    FROM v_reach r
    WHERE r.antes IS NULL OR r.antes < r.lo - 1
    UNION ALL
    SELECT b.ubicacion_id, coalesce(m.alcance + 1, b.first_k), b.last_k
    FROM v_bounds b
    LEFT JOIN (SELECT r.ubicacion_id, max(r.hi) AS alcance FROM v_reach r GROUP BY r.ubicacion_id) m
      USING (ubicacion_id)
),
v_uncovered AS (
    SELECT s.ubicacion_id, s.ubicacion_nombre, s.k, s.slot_start,
        s.slot_start + make_interval(mins => p2.slot_min::int) AS slot_end,
        s.slot_start::date AS fecha
    FROM (
        SELECT b.ubicacion_id, b.ubicacion_nombre, b.hora_apertura, b.hora_cierre, k.k,
            klk_make_timestamp(k.k * p2.slot_us) AS slot_start
        FROM v_holes h
        JOIN v_bounds b USING (ubicacion_id)
        CROSS JOIN p2
        CROSS JOIN LATERAL generate_series(greatest(h.desde_k, b.first_k), least(h.hasta_k, b.last_k)) AS k(k)
    ) s
    CROSS JOIN p2
    WHERE s.hora_apertura IS NULL
       OR (s.slot_start::time >= s.hora_apertura
           AND (s.hora_cierre IS NULL
                OR s.slot_start + make_interval(mins => p2.slot_min::int) <= s.slot_start::date + s.hora_cierre))
),
v_attempts AS (
    SELECT u.ubicacion_id, u.slot_start, x.id, x.estado, x.error_tipo, x.error_mensaje, x.fecha_inicio
    FROM v_uncovered u
    JOIN v_fallos x
      ON x.ubicacion_id = u.ubicacion_id
     AND x.w_start < u.slot_end AND x.w_end > u.slot_start
),
v_slot_state AS (
    SELECT u.ubicacion_id, u.ubicacion_nombre, u.fecha, u.k, u.slot_start, u.slot_end,
        count(a.id) AS n_attempts,
        min(a.fecha_inicio) AS first_attempt
    FROM v_uncovered u
    LEFT JOIN v_attempts a ON a.ubicacion_id = u.ubicacion_id AND a.slot_start = u.slot_start
    GROUP BY u.ubicacion_id, u.ubicacion_nombre, u.fecha, u.k, u.slot_start, u.slot_end
    HAVING count(a.id) > 0
        OR u.slot_end <= (SELECT p2.now_ts - make_interval(mins => p2.grace_min::int) FROM p2)
),
v_islands AS (
    SELECT s.*,
        s.k - row_number() OVER (PARTITION BY s.ubicacion_id, s.fecha ORDER BY s.slot_start) AS island
    FROM v_slot_state s
),
v_gaps AS (
    SELECT i.ubicacion_id, min(i.ubicacion_nombre) AS ubicacion_nombre, i.fecha, i.island,
        min(i.slot_start) AS g_start, max(i.slot_end) AS g_end, count(*) AS n_slots,
        min(coalesce(i.first_attempt, i.slot_end)) AS fecha_fallo
    FROM v_islands i
    GROUP BY i.ubicacion_id, i.fecha, i.island
),
-- The store's first success after each gap's first failure (for intentos_tras_exito below).
-- (A success of the horizon: its window reaches into it. An index probe per gap.)
v_gap_ok AS (
    SELECT g.ubicacion_id, g.fecha, g.island, ok.fecha_inicio AS primer_ok
    FROM v_gaps g
    CROSS JOIN LATERAL (
        SELECT e.fecha_inicio
        FROM etl_ejecuciones e
        WHERE e.etl_tipo = 'ventas' AND e.ubicacion_id = g.ubicacion_id AND e.estado = 'exitoso'
          AND e.fecha_inicio > g.fecha_fallo
          AND e.fecha_hasta >= (p_now - make_interval(mins => p_horizon_min::int))::date
          AND e.fecha_desde <= p_now::date
        ORDER BY e.fecha_inicio
        LIMIT 1
    ) ok
),
v_gap_attempts AS (
    SELECT g.ubicacion_id, g.fecha, g.island,
        count(DISTINCT a.id) AS intentos,
        (array_agg(a.estado ORDER BY a.fecha_inicio DESC, a.id DESC)
            FILTER (WHERE a.estado IS NOT NULL))[1] AS ultimo_estado,
        (array_agg(a.error_tipo ORDER BY a.fecha_inicio DESC, a.id DESC)
            FILTER (WHERE a.error_tipo IS NOT NULL))[1] AS ultimo_error_tipo,
        (array_agg(a.error_mensaje ORDER BY a.fecha_inicio DESC, a.id DESC)
            FILTER (WHERE a.error_mensaje IS NOT NULL))[1] AS ultimo_error_mensaje,
        max(a.id) AS ultima_ejecucion_id,
        max(a.fecha_inicio) AS ultimo_intento,
        -- Attempts made while the store was otherwise healthy (it had a success after the
        -- gap's first failure and before the attempt): a poison window, not an outage. (Some
        -- success between the two exists exactly when the first one after the failure is
        -- before the attempt.)
        count(DISTINCT a.id) FILTER (WHERE o.primer_ok < a.fecha_inicio) AS intentos_tras_exito
    FROM v_gaps g
    JOIN v_attempts a
      ON a.ubicacion_id = g.ubicacion_id AND a.slot_start >= g.g_start AND a.slot_start < g.g_end
    LEFT JOIN v_gap_ok o ON o.ubicacion_id = g.ubicacion_id AND o.fecha = g.fecha AND o.island = g.island
    GROUP BY g.ubicacion_id, g.fecha, g.island
),
ventas_gaps AS (
    SELECT
        'ventas'::varchar AS etl_tipo,
        g.ubicacion_id,
        g.ubicacion_nombre,
        g.fecha AS fecha_desde,
        g.fecha AS fecha_hasta,
        g.g_start::time AS hora_desde,
        CASE WHEN g.g_end::date > g.fecha THEN TIME '23:59:59'
             ELSE g.g_end::time END AS hora_hasta,
        g.fecha_fallo,
        (CASE
            WHEN a.ultimo_estado IS NULL THEN 'sin_ejecucion'
            WHEN a.ultimo_estado = 'en_proceso' THEN 'interrumpido'
            ELSE coalesce(a.ultimo_error_tipo, 'unknown')
        END)::varchar AS error_tipo,
        a.ultimo_error_mensaje::text AS error_mensaje,
        (CASE
            WHEN a.ultimo_estado IS NULL THEN 'sin_ejecucion'
            WHEN a.ultimo_estado = 'en_proceso' THEN 'atascado'
            ELSE a.ultimo_estado
        END)::varchar AS causa,
        coalesce(a.intentos, 0)::bigint AS intentos,
        g.n_slots::bigint AS slots,
        a.ultima_ejecucion_id::bigint AS ultima_ejecucion_id,
        g.g_start AS ventana_desde,
        g.g_end AS ventana_hasta,
        a.ultimo_intento,
        coalesce(a.intentos_tras_exito, 0)::bigint AS intentos_tras_exito
    FROM v_gaps g
    LEFT JOIN v_gap_attempts a USING (ubicacion_id, fecha, island)
),
-- inventario -----------------------------------------------------------------------------------
-- Per expected store, its latest success: the one started last (an index probe), or one that
-- started no later and ended after it (the few rows ended since: another index range).
i_ultimo AS (
    SELECT t.ubicacion_id, t.con_inventario, s.fecha_inicio AS s_inicio, s.fin AS s_fin
    FROM tiendas t
    LEFT JOIN LATERAL (
        SELECT e.fecha_inicio, coalesce(e.fecha_fin, e.fecha_inicio) AS fin
        FROM etl_ejecuciones e
        WHERE e.etl_tipo = 'inventario' AND e.ubicacion_id = t.ubicacion_id AND e.estado = 'exitoso'
        ORDER BY e.fecha_inicio DESC
        LIMIT 1
    ) s ON true
),
i_ok AS (
    SELECT u.ubicacion_id, u.con_inventario,
        greatest(u.s_fin, (
            SELECT max(e.fecha_fin) FROM etl_ejecuciones e
            WHERE e.etl_tipo = 'inventario' AND e.fecha_fin > u.s_fin
              AND e.ubicacion_id = u.ubicacion_id AND e.estado = 'exitoso'
              AND e.fecha_inicio <= u.s_inicio
        )) AS ultimo_ok
    FROM i_ultimo u
),
-- The attempts started after that success (every one, for a store without any).
i_ex AS (
    SELECT x.*, (x.estado = 'en_proceso' AND x.fecha_inicio >= p2.live_since) AS vivo
    FROM i_ok o
    CROSS JOIN p2
    CROSS JOIN LATERAL (
        SELECT e.id, e.ubicacion_id, e.estado, e.error_tipo, e.error_mensaje, e.fecha_inicio, e.fecha_fin
        FROM etl_ejecuciones e
        WHERE e.etl_tipo = 'inventario' AND e.ubicacion_id = o.ubicacion_id
          AND e.fecha_inicio > coalesce(o.ultimo_ok, '-infinity'::timestamp)
        -- a probe per store, not a join with every inventory row
        OFFSET 0
    ) x
),
i_after AS (
    SELECT x.ubicacion_id,
        count(*) FILTER (WHERE x.fallo) AS intentos,
        min(x.fecha_inicio) FILTER (WHERE x.fallo) AS primer_fallo,
        (array_agg(x.estado ORDER BY x.fecha_inicio DESC, x.id DESC)
            FILTER (WHERE x.fallo AND x.estado IS NOT NULL))[1] AS ultimo_estado,
        (array_agg(x.error_tipo ORDER BY x.fecha_inicio DESC, x.id DESC)
            FILTER (WHERE x.fallo AND x.error_tipo IS NOT NULL))[1] AS ultimo_error_tipo,
        (array_agg(x.error_mensaje ORDER BY x.fecha_inicio DESC, x.id DESC)
            FILTER (WHERE x.fallo AND x.error_mensaje IS NOT NULL))[1] AS ultimo_error_mensaje,
        max(x.id) FILTER (WHERE x.fallo) AS ultima_ejecucion_id,
        max(x.fecha_inicio) FILTER (WHERE x.fallo) AS ultimo_intento,
        bool_or(x.vivo) AS vivo
    FROM (
        SELECT x.*, (x.estado IN ('fallido', 'parcial') OR (x.estado = 'en_proceso' AND NOT x.vivo)) AS fallo
        FROM i_ex x
    ) x
    GROUP BY x.ubicacion_id
),
inventario_gaps AS (
    SELECT
        'inventario'::varchar AS etl_tipo,
        t.ubicacion_id,
        t.ubicacion_nombre,
        p2.now_ts::date AS fecha_desde,
        p2.now_ts::date AS fecha_hasta,
        NULL::time AS hora_desde,
        NULL::time AS hora_hasta,
        coalesce(f.primer_fallo, o.ultimo_ok + make_interval(mins => p2.stale_min::int),
                 t.desde::timestamp) AS fecha_fallo,
        (CASE
            WHEN f.ultimo_estado = 'en_proceso' THEN 'interrumpido'
            WHEN f.ultimo_estado IS NOT NULL THEN coalesce(f.ultimo_error_tipo, 'unknown')
            ELSE 'sin_ejecucion'
        END)::varchar AS error_tipo,
        f.ultimo_error_mensaje::text AS error_mensaje,
        (CASE
            WHEN f.ultimo_estado = 'en_proceso' THEN 'atascado'
            WHEN f.ultimo_estado IS NOT NULL THEN f.ultimo_estado
            WHEN o.ultimo_ok IS NOT NULL THEN 'desactualizado'
            ELSE 'sin_ejecucion'
        END)::varchar AS causa,
        coalesce(f.intentos, 0)::bigint AS intentos,
        NULL::bigint AS slots,
        f.ultima_ejecucion_id::bigint AS ultima_ejecucion_id,
        NULL::timestamp AS ventana_desde,
        NULL::timestamp AS ventana_hasta,
        f.ultimo_intento,
        0::bigint AS intentos_tras_exito
    FROM tiendas t
    CROSS JOIN p2
    LEFT JOIN i_ok o USING (ubicacion_id)
    LEFT JOIN i_after f USING (ubicacion_id)
    WHERE NOT coalesce(f.vivo, false)
      AND (
          f.intentos > 0
          OR o.ultimo_ok < p2.now_ts - make_interval(mins => p2.stale_min::int)
          OR (o.ultimo_ok IS NULL AND NOT t.con_inventario AND t.desde IS NOT NULL
              AND t.desde::timestamp <= p2.now_ts)
      )
),
-- verificacion ---------------------------------------------------------------------------------
-- A closed day not verified by its deadline, or whose re-pull failed: a gap of its own.
verificacion_gaps AS (
    SELECT
        'ventas'::varchar AS etl_tipo,
        v.ubicacion_id,
        v.ubicacion_nombre,
        v.fecha AS fecha_desde,
        v.fecha AS fecha_hasta,
        NULL::time AS hora_desde,
        NULL::time AS hora_hasta,
        coalesce(v.primer_fallo, v.plazo) AS fecha_fallo,
        (CASE
            WHEN v.intentos = 0 THEN 'sin_ejecucion'
            WHEN v.ultimo_estado = 'en_proceso' THEN 'interrumpido'
            ELSE coalesce(v.ultimo_error_tipo, 'unknown')
        END)::varchar AS error_tipo,
        v.ultimo_error_mensaje AS error_mensaje,
        'sin_verificar'::varchar AS causa,
        v.intentos,
        NULL::bigint AS slots,
        v.ultima_ejecucion_id,
        v.fecha::timestamp AS ventana_desde,
        (v.fecha + 1)::timestamp AS ventana_hasta,
        v.ultimo_intento,
        0::bigint AS intentos_tras_exito
    FROM klk_verificaciones_q(p_now, p_horizon_min, p_close_min, p_deadline_min, p_stuck_min, p_desde) v
    WHERE v.verificado_en IS NULL AND NOT v.en_curso AND (v.vencido OR v.intentos > 0)
),
todos AS (
    SELECT * FROM ventas_gaps
    UNION ALL
    SELECT * FROM inventario_gaps
    UNION ALL
    SELECT * FROM verificacion_gaps
)
SELECT
    todos.etl_tipo, todos.ubicacion_id, todos.ubicacion_nombre, todos.fecha_desde,
    todos.fecha_hasta, todos.hora_desde, todos.hora_hasta, todos.fecha_fallo,
    todos.error_tipo, todos.error_mensaje,
    (klk_epoch_us(p2.now_ts) - klk_epoch_us(todos.fecha_fallo))::double precision
        / 3600000000.0::double precision AS horas_desde_fallo,
    todos.causa, todos.intentos, todos.slots, todos.ultima_ejecucion_id,
    todos.ventana_desde, todos.ventana_hasta, todos.ultimo_intento, todos.intentos_tras_exito
FROM todos, p2
$$;


-- What klk-etl and the seed view call: the stored settings for NULL arguments, then the query
-- above with every bound a constant of its plan (see the header: wrappers).
CREATE OR REPLACE FUNCTION klk_gaps(
    p_now timestamp DEFAULT NULL,
    p_horizon_min bigint DEFAULT NULL,
    p_slot_min bigint DEFAULT NULL,
    p_stuck_min bigint DEFAULT NULL,
    p_grace_min bigint DEFAULT NULL,
    p_stale_min bigint DEFAULT NULL,
    p_close_min bigint DEFAULT NULL,
    p_deadline_min bigint DEFAULT NULL
)
RETURNS TABLE (
    etl_tipo varchar, ubicacion_id varchar, ubicacion_nombre varchar, fecha_desde date,
    fecha_hasta date, hora_desde time, hora_hasta time, fecha_fallo timestamp,
    error_tipo varchar, error_mensaje text, horas_desde_fallo double precision,
    causa varchar, intentos bigint, slots bigint, ultima_ejecucion_id bigint,
    ventana_desde timestamp, ventana_hasta timestamp, ultimo_intento timestamp,
    intentos_tras_exito bigint
)
LANGUAGE plpgsql STABLE
SET jit = off
SET plan_cache_mode = force_custom_plan
SET work_mem = '64MB'
AS $$
#variable_conflict use_column
DECLARE
    c etl_configuracion%ROWTYPE;
    v_now timestamp;
    v_horizonte bigint;
    v_slot bigint;
    v_vivo_desde date;
BEGIN
    SELECT * INTO c FROM etl_configuracion WHERE etl_configuracion.id = 1;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    v_now := coalesce(p_now, klk_now_local());
    v_horizonte := coalesce(p_horizon_min, c.horizonte_minutos);
    v_slot := coalesce(p_slot_min, c.slot_minutos);
    -- The first day of the horizon whose coverage is not kept (see klk_gaps_q's v_guardados).
    SELECT min(h.fecha) INTO v_vivo_desde
    FROM (
        SELECT (v_now - make_interval(mins => v_horizonte::int))::date + i AS fecha
        FROM generate_series(0, v_now::date - (v_now - make_interval(mins => v_horizonte::int))::date) AS i
    ) h
    WHERE NOT EXISTS (SELECT 1 FROM etl_cobertura_dias d WHERE d.fecha = h.fecha AND d.slot_minutos = v_slot);
    RETURN QUERY SELECT * FROM klk_gaps_q(
        v_now,
        v_horizonte,
        v_slot,
        coalesce(p_stuck_min, c.atascado_minutos),
        coalesce(p_grace_min, c.gracia_minutos),
        coalesce(p_stale_min, c.inventario_vencido_minutos),
        coalesce(p_close_min, c.verificacion_cierre_minutos),
        coalesce(p_deadline_min, c.verificacion_plazo_minutos),
        c.verificacion_desde,
        coalesce(v_vivo_desde, v_now::date + 1));
END
$$;

-- klk_metricas ----------------------------------------------------------------------------------

-- What one day, tipo and store's executions add up to, for the executions started in
-- [p_desde, p_hasta): the figures klk_metricas shows (rounded as DuckDB's round does) and what
-- the per-store summary adds up over several days (duracion_suma_us, the sorted durations, and
-- ultimo: {microseconds of fecha_inicio, id} of the latest execution with a name).
CREATE OR REPLACE FUNCTION klk_metricas_estado_de(p_desde timestamp, p_hasta timestamp)
RETURNS TABLE (
    fecha date, etl_tipo varchar, ubicacion_id varchar, ubicacion_nombre varchar, ultimo bigint[],
    total_ejecuciones bigint, ejecuciones_exitosas bigint, ejecuciones_fallidas bigint,
    ejecuciones_parciales bigint, ejecuciones_en_proceso bigint,
    duracion_promedio_seg double precision, duracion_p95_seg double precision,
    duracion_suma_us bigint, duraciones double precision[], total_registros_cargados bigint
)
LANGUAGE sql STABLE
AS $$
SELECT a.fecha, a.etl_tipo, a.ubicacion_id, a.ubicacion_nombre, a.ultimo, a.total_ejecuciones,
    a.ejecuciones_exitosas, a.ejecuciones_fallidas, a.ejecuciones_parciales,
    a.ejecuciones_en_proceso,
    klk_round(a.suma_us::double precision / nullif(a.n_duraciones, 0)::double precision
        / 1000000::double precision, 3),
    klk_round(klk_quantile_cont(a.duraciones, 0.95), 3),
    a.suma_us, a.duraciones, a.total_registros_cargados
FROM (
    SELECT
        e.fecha_inicio::date AS fecha,
        e.etl_tipo,
        e.ubicacion_id,
        (array_agg(e.ubicacion_nombre ORDER BY e.fecha_inicio DESC, e.id DESC)
            FILTER (WHERE e.ubicacion_nombre IS NOT NULL))[1] AS ubicacion_nombre,
        max(ARRAY[klk_epoch_us(e.fecha_inicio), e.id::bigint])
            FILTER (WHERE e.ubicacion_nombre IS NOT NULL) AS ultimo,
        count(*) AS total_ejecuciones,
        count(*) FILTER (WHERE e.estado = 'exitoso') AS ejecuciones_exitosas,
        count(*) FILTER (WHERE e.estado = 'fallido') AS ejecuciones_fallidas,
        count(*) FILTER (WHERE e.estado = 'parcial') AS ejecuciones_parciales,
        count(*) FILTER (WHERE e.estado = 'en_proceso') AS ejecuciones_en_proceso,
        -- the mean as DuckDB's klk_metricas computes it: whole microseconds added up (in any
        -- order: an integer sum), divided by the count
        sum(floor(e.duracion_segundos * 1000000::double precision + 0.5::double precision)::bigint)::bigint AS suma_us,
        count(e.duracion_segundos) AS n_duraciones,
        array_agg(e.duracion_segundos ORDER BY e.duracion_segundos)
            FILTER (WHERE e.duracion_segundos IS NOT NULL) AS duraciones,
        coalesce(sum(e.registros_cargados), 0)::bigint AS total_registros_cargados
    FROM etl_ejecuciones e
    WHERE e.fecha_inicio >= p_desde AND e.fecha_inicio < p_hasta
    GROUP BY e.fecha_inicio::date, e.etl_tipo, e.ubicacion_id
) a
$$;

-- The same for every day of the last p_days days including p_now's: a day etl_metricas_dias
-- lists is read from etl_metricas_dia, any other is added up live (an index range per day).
CREATE OR REPLACE FUNCTION klk_metricas_estado(p_now timestamp, p_days bigint)
RETURNS TABLE (
    fecha date, etl_tipo varchar, ubicacion_id varchar, ubicacion_nombre varchar, ultimo bigint[],
    total_ejecuciones bigint, ejecuciones_exitosas bigint, ejecuciones_fallidas bigint,
    ejecuciones_parciales bigint, ejecuciones_en_proceso bigint,
    duracion_promedio_seg double precision, duracion_p95_seg double precision,
    duracion_suma_us bigint, duraciones double precision[], total_registros_cargados bigint
)
LANGUAGE sql STABLE
SET jit = off
AS $$
WITH
hechos AS (
    SELECT d.fecha FROM etl_metricas_dias d
    WHERE d.fecha >= p_now::date - (p_days - 1)::int AND d.fecha <= p_now::date
),
dias AS (
    SELECT (p_now::date - i::int) AS fecha
    FROM generate_series(0, p_days - 1) AS i
    WHERE (p_now::date - i::int) NOT IN (SELECT h.fecha FROM hechos h)
)
SELECT m.fecha, m.etl_tipo, m.ubicacion_id, m.ubicacion_nombre, m.ultimo, m.total_ejecuciones,
    m.ejecuciones_exitosas, m.ejecuciones_fallidas, m.ejecuciones_parciales,
    m.ejecuciones_en_proceso, m.duracion_promedio_seg, m.duracion_p95_seg, m.duracion_suma_us,
    m.duraciones, m.total_registros_cargados
FROM etl_metricas_dia m
WHERE m.fecha >= p_now::date - (p_days - 1)::int AND m.fecha <= p_now::date
  AND m.fecha IN (SELECT h.fecha FROM hechos h)
UNION ALL
SELECT s.*
FROM dias d
CROSS JOIN LATERAL klk_metricas_estado_de(d.fecha::timestamp, (d.fecha + 1)::timestamp) s
$$;

-- Keeps up to p_max past days in etl_metricas_dia: the days before the latest execution's, back
-- 62 days from it, that etl_metricas_dias does not list, newest first. Call it only with no
-- writer of etl_ejecuciones in flight (klk_refrescar_resumen does, holding its SHARE lock): a
-- write committed after the figures were read would otherwise go unnoticed.
CREATE OR REPLACE FUNCTION klk_llenar_metricas(p_max integer)
RETURNS integer
LANGUAGE plpgsql
SET jit = off
AS $$
DECLARE
    v_ultimo date;
    v_dias date[];
BEGIN
    SELECT max(e.fecha_inicio)::date INTO v_ultimo FROM etl_ejecuciones e;
    IF v_ultimo IS NULL THEN
        RETURN 0;
    END IF;
    SELECT coalesce(array_agg(c.fecha), '{}') INTO v_dias FROM (
        SELECT (v_ultimo - i) AS fecha
        FROM generate_series(1, 62) AS i
        WHERE (v_ultimo - i) NOT IN (SELECT d.fecha FROM etl_metricas_dias d)
        ORDER BY 1 DESC
        LIMIT p_max
    ) c;
    DELETE FROM etl_metricas_dia m WHERE m.fecha = ANY (v_dias);
    INSERT INTO etl_metricas_dia (fecha, etl_tipo, ubicacion_id, ubicacion_nombre, ultimo,
        total_ejecuciones, ejecuciones_exitosas, ejecuciones_fallidas, ejecuciones_parciales,
        ejecuciones_en_proceso, duracion_promedio_seg, duracion_p95_seg, duracion_suma_us, duraciones,
        total_registros_cargados)
    SELECT s.* FROM unnest(v_dias) AS d(fecha)
    CROSS JOIN LATERAL klk_metricas_estado_de(d.fecha::timestamp, (d.fecha + 1)::timestamp) s;
    INSERT INTO etl_metricas_dias (fecha) SELECT unnest(v_dias);
    RETURN cardinality(v_dias);
END
$$;

-- klk_gaps' kept coverage (016_coverage_by_day.sql): keeps up to p_max past days of the
-- horizon, newest first: the days before the latest execution's, back as far as the horizon
-- reaches, that etl_cobertura_dias does not list for the configured slot length and that no
-- sales execution in progress touches (a run that may still be live covers its window: that
-- is decided at read time). Call it only with no writer of etl_ejecuciones in flight
-- (klk_refrescar_resumen does, holding its SHARE lock).
CREATE OR REPLACE FUNCTION klk_llenar_cobertura(p_max integer)
RETURNS integer
LANGUAGE plpgsql
SET jit = off
AS $$
DECLARE
    v_ultimo date;
    v_slot bigint;
    v_horizonte bigint;
    v_dias date[];
BEGIN
    SELECT max(e.fecha_inicio)::date INTO v_ultimo FROM etl_ejecuciones e;
    SELECT c.slot_minutos, c.horizonte_minutos INTO v_slot, v_horizonte
    FROM etl_configuracion c WHERE c.id = 1;
    IF v_ultimo IS NULL OR v_slot IS NULL OR v_slot <= 0 OR v_horizonte IS NULL THEN
        RETURN 0;
    END IF;
    SELECT coalesce(array_agg(c.fecha), '{}') INTO v_dias FROM (
        SELECT (v_ultimo - i) AS fecha
        FROM generate_series(1, (v_horizonte / 1440 + 1)::int) AS i
        WHERE NOT EXISTS (SELECT 1 FROM etl_cobertura_dias d
                          WHERE d.fecha = v_ultimo - i AND d.slot_minutos = v_slot)
          AND NOT EXISTS (SELECT 1 FROM etl_ejecuciones e
                          WHERE e.estado = 'en_proceso' AND e.etl_tipo = 'ventas'
                            AND v_ultimo - i BETWEEN e.fecha_desde AND e.fecha_hasta)
        ORDER BY 1 DESC
        LIMIT p_max
    ) c;
    IF cardinality(v_dias) = 0 THEN
        RETURN 0;
    END IF;
    DELETE FROM etl_cobertura_dia c WHERE c.fecha = ANY (v_dias);
    DELETE FROM etl_cobertura_dias d WHERE d.fecha = ANY (v_dias);
    INSERT INTO etl_cobertura_dia (fecha, ubicacion_id, slot_minutos, desde_k, hasta_k)
    SELECT t.d, t.ubicacion_id, v_slot, min(t.lo), max(t.hi)
    FROM (
        -- a new range where a slot lies between this one and what the ones before reach
        SELECT r.*, count(*) FILTER (WHERE r.antes IS NULL OR r.lo > r.antes + 1)
                        OVER (PARTITION BY r.d, r.ubicacion_id ORDER BY r.lo, r.hi) AS rango
        FROM (
            SELECT c.*, max(c.hi) OVER (PARTITION BY c.d, c.ubicacion_id ORDER BY c.lo, c.hi
                                        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS antes
            FROM (
                SELECT e.ubicacion_id, dd.d,
                    klk_cubre_desde(dd.d, e.hora_desde, v_slot * 60000000) AS lo,
                    klk_cubre_hasta(dd.d, e.hora_hasta, v_slot * 60000000) AS hi
                FROM etl_ejecuciones e
                CROSS JOIN LATERAL unnest(v_dias) AS dd(d)
                WHERE e.etl_tipo = 'ventas' AND e.estado = 'exitoso'
                  AND e.fecha_hasta >= (SELECT min(x) FROM unnest(v_dias) AS x)
                  AND e.fecha_desde <= (SELECT max(x) FROM unnest(v_dias) AS x)
                  AND dd.d BETWEEN e.fecha_desde AND e.fecha_hasta
            ) c
            WHERE c.lo <= c.hi
        ) r
    ) t
    GROUP BY t.d, t.ubicacion_id, t.rango;
    INSERT INTO etl_cobertura_dias (fecha, slot_minutos) SELECT unnest(v_dias), v_slot;
    RETURN cardinality(v_dias);
END
$$;

-- Per store, tipo and day (store-local, by the day of fecha_inicio) over the last p_days days
-- including today; for ventas, what verifying the day found (see METRICS_MACRO).
CREATE OR REPLACE FUNCTION klk_metricas_q(p_now timestamp, p_days bigint)
RETURNS TABLE (
    etl_tipo varchar, ubicacion_id varchar, ubicacion_nombre varchar, fecha date,
    total_ejecuciones bigint, ejecuciones_exitosas bigint, ejecuciones_fallidas bigint,
    ejecuciones_parciales bigint, ejecuciones_en_proceso bigint,
    tasa_exito_pct double precision, duracion_promedio_seg double precision,
    duracion_p95_seg double precision, total_registros_cargados bigint,
    lineas_tardias bigint, lineas_cambiadas bigint, lineas_desaparecidas bigint,
    verificado_en timestamp
)
LANGUAGE sql STABLE
AS $$
WITH
verificado AS (
    SELECT e.ubicacion_id, e.fecha_desde AS fecha,
        (array_agg(e.ubicacion_nombre ORDER BY e.fecha_inicio DESC, e.id DESC)
            FILTER (WHERE e.ubicacion_nombre IS NOT NULL))[1] AS ubicacion_nombre,
        (array_agg(e.lineas_tardias ORDER BY e.fecha_inicio DESC, e.id DESC)
            FILTER (WHERE e.lineas_tardias IS NOT NULL))[1] AS lineas_tardias,
        (array_agg(e.lineas_cambiadas ORDER BY e.fecha_inicio DESC, e.id DESC)
            FILTER (WHERE e.lineas_cambiadas IS NOT NULL))[1] AS lineas_cambiadas,
        (array_agg(e.lineas_desaparecidas ORDER BY e.fecha_inicio DESC, e.id DESC)
            FILTER (WHERE e.lineas_desaparecidas IS NOT NULL))[1] AS lineas_desaparecidas,
        min(e.fecha_fin) AS verificado_en
    FROM etl_ejecuciones e
    WHERE e.etl_tipo = 'ventas' AND e.estado = 'exitoso' AND e.lineas_tardias IS NOT NULL
      AND e.fecha_desde = e.fecha_hasta
      -- the period's bounds, from the arguments: an index range (klk_ejecuciones_verificadas)
      AND e.fecha_desde >= p_now::date - (p_days - 1)::int
      AND e.fecha_desde <= p_now::date
    GROUP BY e.ubicacion_id, e.fecha_desde
),
dia AS (
    SELECT s.etl_tipo, s.ubicacion_id, s.ubicacion_nombre, s.fecha, s.total_ejecuciones,
        s.ejecuciones_exitosas, s.ejecuciones_fallidas, s.ejecuciones_parciales,
        s.ejecuciones_en_proceso,
        klk_round(100.0::double precision * s.ejecuciones_exitosas / s.total_ejecuciones, 2)
            AS tasa_exito_pct,
        s.duracion_promedio_seg,
        s.duracion_p95_seg,
        s.total_registros_cargados
    FROM klk_metricas_estado(p_now, p_days) s
)
-- A day verified but without executions started on it (cron down all day) still shows.
SELECT
    coalesce(dia.etl_tipo, 'ventas')::varchar AS etl_tipo,
    coalesce(dia.ubicacion_id, v.ubicacion_id) AS ubicacion_id,
    coalesce(dia.ubicacion_nombre, v.ubicacion_nombre) AS ubicacion_nombre,
    coalesce(dia.fecha, v.fecha) AS fecha,
    coalesce(dia.total_ejecuciones, 0)::bigint AS total_ejecuciones,
    coalesce(dia.ejecuciones_exitosas, 0)::bigint AS ejecuciones_exitosas,
    coalesce(dia.ejecuciones_fallidas, 0)::bigint AS ejecuciones_fallidas,
    coalesce(dia.ejecuciones_parciales, 0)::bigint AS ejecuciones_parciales,
    coalesce(dia.ejecuciones_en_proceso, 0)::bigint AS ejecuciones_en_proceso,
    dia.tasa_exito_pct,
    dia.duracion_promedio_seg,
    dia.duracion_p95_seg,
    coalesce(dia.total_registros_cargados, 0)::bigint AS total_registros_cargados,
    v.lineas_tardias::bigint, v.lineas_cambiadas::bigint, v.lineas_desaparecidas::bigint,
    v.verificado_en
FROM dia
FULL OUTER JOIN verificado v
  ON dia.etl_tipo = 'ventas' AND v.ubicacion_id = dia.ubicacion_id AND v.fecha = dia.fecha
$$;


-- What klk-etl and the seed view call (see the header: wrappers).
CREATE OR REPLACE FUNCTION klk_metricas(p_now timestamp DEFAULT NULL, p_days bigint DEFAULT NULL)
RETURNS TABLE (
    etl_tipo varchar, ubicacion_id varchar, ubicacion_nombre varchar, fecha date,
    total_ejecuciones bigint, ejecuciones_exitosas bigint, ejecuciones_fallidas bigint,
    ejecuciones_parciales bigint, ejecuciones_en_proceso bigint,
    tasa_exito_pct double precision, duracion_promedio_seg double precision,
    duracion_p95_seg double precision, total_registros_cargados bigint,
    lineas_tardias bigint, lineas_cambiadas bigint, lineas_desaparecidas bigint,
    verificado_en timestamp
)
LANGUAGE plpgsql STABLE
SET jit = off
SET plan_cache_mode = force_custom_plan
SET work_mem = '64MB'
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY SELECT * FROM klk_metricas_q(coalesce(p_now, klk_now_local()), coalesce(p_days, 30));
END
$$;

-- The seed's views ------------------------------------------------------------------------------

CREATE OR REPLACE VIEW v_gaps_por_recuperar AS
SELECT * FROM klk_gaps(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

CREATE OR REPLACE VIEW v_metricas_confiabilidad AS
SELECT * FROM klk_metricas(NULL, 30);

-- The latest start per store and tipo comes from klk_resumen; only the rows started then are
-- read (the highest id wins a tie).
CREATE OR REPLACE VIEW v_ultimas_ejecuciones AS
WITH ultimo AS (
    SELECT r.etl_tipo, r.ubicacion_id, max(r.ultimo_inicio) AS fecha_inicio
    FROM klk_resumen() r
    GROUP BY r.etl_tipo, r.ubicacion_id
)
SELECT x.id, x.etl_tipo, x.ubicacion_id, x.ubicacion_nombre, x.fecha_inicio, x.fecha_fin,
       x.duracion_segundos, x.fecha_desde, x.fecha_hasta, x.hora_desde, x.hora_hasta, x.estado,
       x.registros_extraidos, x.registros_cargados, x.error_tipo, x.error_mensaje, x.modo,
       x.version_etl, x.host
FROM (
    SELECT e.*, row_number() OVER (PARTITION BY e.etl_tipo, e.ubicacion_id ORDER BY e.id DESC) AS klk_n
    FROM etl_ejecuciones e
    JOIN ultimo u
      ON e.etl_tipo = u.etl_tipo AND e.ubicacion_id = u.ubicacion_id AND e.fecha_inicio = u.fecha_inicio
) x
WHERE x.klk_n = 1;

-- The summary is built when it never was (a new database, or one just migrated to version 7).
SELECT klk_refrescar_resumen(true) WHERE NOT EXISTS (SELECT 1 FROM etl_resumen_estado);
