use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;
use crate::exit::Exit;

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// Shell to generate for, or `man` for the man page (roff)
    #[arg(value_enum)]
    pub shell: Target,
    /// Write into this directory (as the file name the shell expects) instead of stdout
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
    Man,
}

impl Target {
    pub const ALL: [Target; 6] = [
        Target::Bash,
        Target::Zsh,
        Target::Fish,
        Target::Powershell,
        Target::Elvish,
        Target::Man,
    ];

    /// The file name under `completions/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Target::Bash => "klk-etl.bash",
            Target::Zsh => "_klk-etl",
            Target::Fish => "klk-etl.fish",
            Target::Powershell => "_klk-etl.ps1",
            Target::Elvish => "klk-etl.elv",
            Target::Man => "klk-etl.1",
        }
    }
}

/// The script or page for one target, exactly as committed under `completions/`.
pub fn generate(target: Target) -> Vec<u8> {
    let mut command = Cli::command();
    let mut buffer = Vec::new();
    let shell = match target {
        Target::Bash => Shell::Bash,
        Target::Zsh => Shell::Zsh,
        Target::Fish => Shell::Fish,
        Target::Powershell => Shell::PowerShell,
        Target::Elvish => Shell::Elvish,
        Target::Man => {
            // Writing to a Vec cannot fail.
            let _ = clap_mangen::Man::new(command).render(&mut buffer);
            return buffer;
        }
    };
    clap_complete::generate(shell, &mut command, "klk-etl", &mut buffer);
    buffer
}

impl CompletionsArgs {
    pub fn exec(self) -> anyhow::Result<Exit> {
        let content = generate(self.shell);
        match self.dir {
            Some(dir) => {
                let path = dir.join(self.shell.file_name());
                std::fs::write(&path, content)
                    .map_err(|e| crate::exit::IoError::write(&path, e))?;
            }
            None => {
                use std::io::Write;
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(&content)?;
                stdout.flush()?;
            }
        }
        Ok(Exit::Ok)
    }
}
