//! `roster completions bash|zsh|fish|elvish|powershell`: prints a shell completion script
//! for every command and flag, generated from the same clap definitions the binary parses.
//! Install e.g. `roster completions bash > /etc/bash_completion.d/roster`.

use clap::Args;
use clap_complete::Shell;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the script to stdout; `cmd` is the whole CLI (`Cli::command()`).
pub fn run(args: &CompletionsArgs, mut cmd: clap::Command) -> anyhow::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "roster", &mut script);
    crate::conn::stdout(&String::from_utf8_lossy(&script))
}
