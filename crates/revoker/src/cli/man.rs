//! `revoker man`: the manual page, generated from the command-line definitions (clap_mangen).

use anyhow::Context as _;

use super::args::ManArgs;
use super::{Cli, Failure, exit};

fn render(cmd: clap::Command, title: Option<String>) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut man = clap_mangen::Man::new(cmd);
    if let Some(title) = title {
        man = man.title(title);
    }
    man.render(&mut buf)?;
    Ok(buf)
}

pub(super) fn command(args: ManArgs) -> Result<i32, Failure> {
    let cli = <Cli as clap::CommandFactory>::command();
    match args.dir {
        None => {
            let page = render(cli, None)?;
            let mut stdout = std::io::stdout().lock();
            if let Err(e) = std::io::Write::write_all(&mut stdout, &page)
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(e.into());
            }
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let mut pages = vec![("revoker.1".to_string(), cli.clone(), None)];
            for sub in cli.get_subcommands() {
                let name = format!("revoker-{}", sub.get_name());
                let page = sub.clone().name(name.clone()).bin_name(name.clone());
                pages.push((format!("{name}.1"), page, Some(name.to_uppercase())));
            }
            for (file, cmd, title) in pages {
                let path = dir.join(&file);
                std::fs::write(&path, render(cmd, title)?)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
    }
    Ok(exit::OK)
}
