//! `revoker man`: the manual page, generated from the command-line definitions (clap_mangen).

use anyhow::Context as _;

use super::args::ManArgs;
use super::{Cli, Failure, exit};

fn render(cmd: clap::Command, title: Option<String>) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let synopsis = synopsis(&cmd);
    let mut man = clap_mangen::Man::new(cmd);
    if let Some(title) = title {
        man = man.title(title);
    }
    man.render(&mut buf)?;
    // clap_mangen's SYNOPSIS names no option's value: ours does (`[--input PATH]`).
    let page = String::from_utf8_lossy(&buf).into_owned();
    let Some(start) = page.find(".SH SYNOPSIS\n") else {
        return Ok(buf);
    };
    let body = start + ".SH SYNOPSIS\n".len();
    let end = page[body..]
        .find("\n.SH ")
        .map_or(page.len(), |i| body + i + 1);
    Ok(format!("{}{synopsis}\n{}", &page[..body], &page[end..]).into_bytes())
}

/// Text for roff: a hyphen as `\-`, a backslash doubled.
fn roff(text: &str) -> String {
    text.replace('\\', "\\\\").replace('-', "\\-")
}

/// The command and each option with its value's name, as `--help` shows them.
fn synopsis(cmd: &clap::Command) -> String {
    let mut cmd = cmd.clone();
    cmd.build();
    let name = cmd.get_bin_name().unwrap_or_else(|| cmd.get_name());
    let mut line = format!("\\fB{}\\fR", roff(name));
    let (positional, options): (Vec<&clap::Arg>, Vec<&clap::Arg>) = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .partition(|a| a.is_positional());
    for arg in options.into_iter().chain(positional) {
        let value = arg
            .get_num_args()
            .is_some_and(|n| n.takes_values())
            .then(|| {
                arg.get_value_names()
                    .map_or_else(|| arg.get_id().as_str().to_uppercase(), |v| v.join(" "))
            });
        let flag = match (arg.get_short(), arg.get_long()) {
            (Some(s), Some(l)) => format!("\\fB\\-{s}\\fR|\\fB\\-\\-{}\\fR", roff(l)),
            (Some(s), None) => format!("\\fB\\-{s}\\fR"),
            (None, Some(l)) => format!("\\fB\\-\\-{}\\fR", roff(l)),
            (None, None) => {
                let v = value.unwrap_or_else(|| arg.get_id().as_str().to_uppercase());
                line.push_str(&format!(" [\\fI{}\\fR]", roff(&v)));
                continue;
            }
        };
        let (open, close) = if arg.is_required_set() {
            ("<", ">")
        } else {
            ("[", "]")
        };
        match value {
            Some(v) => line.push_str(&format!(" {open}{flag} \\fI{}\\fR{close}", roff(&v))),
            None => line.push_str(&format!(" {open}{flag}{close}")),
        }
    }
    if cmd.has_subcommands() {
        line.push_str(" <\\fIcommand\\fR>");
    }
    line
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
                // The page is revoker-run(1); the command it shows is `revoker run`.
                let page = sub
                    .clone()
                    .name(name.clone())
                    .bin_name(format!("revoker {}", sub.get_name()));
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
