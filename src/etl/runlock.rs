//! Two runs of the same tipo never overlap: an advisory lock file per database and tipo
//! (`<database>.run-ventas.lock`), held for the whole run and released by the kernel when
//! the process ends, however it ends.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::tracker::gate::{LockMode, lock_until};
use crate::tracker::vocab::EtlTipo;

#[derive(Debug, thiserror::Error)]
pub enum RunLockError {
    #[error(
        "another klk-etl is already running {tipo} on this database (pid {holder}); waited {waited_secs:.0}s, skipping this run"
    )]
    Busy {
        tipo: EtlTipo,
        holder: String,
        waited_secs: f64,
    },
    #[error("cannot create or lock the run lock {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Held while alive.
#[derive(Debug)]
pub struct RunLock {
    _files: Vec<File>,
    /// Lock files this acquisition created (none existed before).
    created: Vec<PathBuf>,
}

fn lock_path(database: &Path, tipo: EtlTipo) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(format!(".run-{}.lock", tipo.as_str()));
    PathBuf::from(name)
}

impl RunLock {
    /// Locks every tipo (in a fixed order, so two runs cannot deadlock), waiting up to `wait`.
    pub fn acquire(
        database: &Path,
        tipos: &[EtlTipo],
        wait: Duration,
    ) -> Result<RunLock, RunLockError> {
        let mut ordered: Vec<EtlTipo> = tipos.to_vec();
        ordered.sort_by_key(|t| t.as_str());
        ordered.dedup();
        let started = Instant::now();
        let deadline = started + wait;
        let mut files = Vec::new();
        if let Some(parent) = database.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| RunLockError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let mut created = Vec::new();
        for tipo in ordered {
            let path = lock_path(database, tipo);
            if !path.exists() {
                created.push(path.clone());
            }
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|source| RunLockError::Io {
                    path: path.clone(),
                    source,
                })?;
            let locked = lock_until(
                &file,
                LockMode::Exclusive,
                deadline,
                Duration::from_millis(100),
            )
            .map_err(|source| RunLockError::Io {
                path: path.clone(),
                source,
            })?;
            if !locked {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(RunLockError::Busy {
                    tipo,
                    holder: holder.trim().to_string(),
                    waited_secs: started.elapsed().as_secs_f64(),
                });
            }
            let _ = file.set_len(0);
            let _ = file.rewind();
            let _ = write!(file, "{}", std::process::id());
            let _ = file.flush();
            files.push(file);
        }
        Ok(RunLock {
            _files: files,
            created,
        })
    }

    /// Releases the lock and removes the lock files this acquisition created: for a database
    /// path that turned out not to be usable, nothing is left beside it. (Another run that
    /// opened such a file meanwhile fails on the same unusable database.)
    pub fn release_and_remove_created(self) {
        let RunLock { _files, created } = self;
        for path in &created {
            let _ = std::fs::remove_file(path);
        }
        drop(_files);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_then_gives_up_naming_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.duckdb");
        let first = RunLock::acquire(&db, &[EtlTipo::Ventas], Duration::ZERO).unwrap();
        // flock locks belong to the open file description: a second open conflicts even
        // within one process.
        let err =
            RunLock::acquire(&db, &[EtlTipo::Ventas], Duration::from_millis(200)).unwrap_err();
        assert!(
            err.to_string().contains(&std::process::id().to_string()),
            "{err}"
        );
        // Another tipo is independent.
        RunLock::acquire(&db, &[EtlTipo::Inventario], Duration::ZERO).unwrap();
        drop(first);
        RunLock::acquire(&db, &[EtlTipo::Ventas, EtlTipo::Inventario], Duration::ZERO).unwrap();
    }
}
