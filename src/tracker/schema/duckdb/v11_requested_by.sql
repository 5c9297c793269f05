-- `klk-etl serve` records the name of the token that asked for a recovery.
ALTER TABLE etl_invocaciones ADD COLUMN IF NOT EXISTS solicitado_por VARCHAR;
