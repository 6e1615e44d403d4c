//! ncftool's commands as requests to netconfd: `iface-list`, `iface-xml`,
//! `iface-define`, `iface-undefine`, `change-*`, and the `ifup`/`ifdown`
//! ops for `ifup`/`ifdown` (the daemon brings a bridge's ports up with it).
//! The connection is made at the first command that needs it, so `help`
//! works without a daemon.

use super::{xml_failure, Backend, Dumped, Failure, Listed};
use crate::ifupdown::Printer;
use netconf_ctlsock_proto::{
    ChangeArgs, Client, ErrorCode, IfaceDefineArgs, IfaceListArgs, IfaceUndefineArgs, IfaceXmlArgs,
    Op,
};
use serde_json::Value;
use std::path::PathBuf;

pub struct Remote {
    socket: PathBuf,
    client: Option<Client>,
    /// `-d`: show every step the daemon reports.
    debug: bool,
}

impl Remote {
    pub fn new(socket: PathBuf, debug: bool) -> Remote {
        Remote {
            socket,
            client: None,
            debug,
        }
    }

    fn call(&mut self, op: Op) -> Result<Value, Failure> {
        if self.client.is_none() {
            self.client = Some(Client::connect(&self.socket)?);
        }
        let Some(client) = self.client.as_mut() else {
            return Err(Failure::new(ErrorCode::Internal, "no connection"));
        };
        let mut printer = Printer {
            prog: "ncftool",
            verbose: self.debug,
            json: false,
        };
        let result = client.call(op, |p| printer.show(p));
        if result.is_err() {
            // A daemon that went away is asked again by the next command.
            self.client = None;
        }
        Ok(result?)
    }

    /// Whether `name` is a connection, as netcf looks it up before `ifup`.
    fn exists(&mut self, name: &str) -> Result<bool, Failure> {
        Ok(self.list(None, false)?.iter().any(|i| i.name == name))
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// The daemon's `unknown-interface` is netcf's failed lookup.
fn lookup(name: &str, e: Failure) -> Failure {
    match e {
        Failure::Reply(r) if r.code == ErrorCode::UnknownInterface => Failure::NoSuchInterface {
            name: name.to_string(),
            why: Some(r.message),
        },
        e => e,
    }
}

impl Backend for Remote {
    fn list(&mut self, active: Option<bool>, macs: bool) -> Result<Vec<Listed>, Failure> {
        let result = self.call(Op::IfaceList(IfaceListArgs { active, macs }))?;
        Ok(result["interfaces"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| Listed {
                name: text(&i["name"]),
                active: i["active"] == true,
                mac: i["mac"].as_str().map(String::from),
            })
            .collect())
    }

    fn dumpxml(&mut self, name: &str, live: bool) -> Result<Dumped, Failure> {
        let result = self
            .call(Op::IfaceXml(IfaceXmlArgs {
                name: name.to_string(),
                live,
            }))
            .map_err(|e| lookup(name, e))?;
        Ok(Dumped {
            xml: text(&result["xml"]),
            unexpressed: result["unexpressed"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|u| {
                    format!(
                        "{}: {}: {}",
                        text(&u["place"]),
                        text(&u["interface"]),
                        text(&u["what"])
                    )
                })
                .collect(),
        })
    }

    fn define(&mut self, xml: &str) -> Result<String, Failure> {
        // The same check the daemon makes, here first: a document that
        // cannot be right is not sent (nor one too large for a request).
        netconf_ifxml::xml::parse(xml).map_err(|e| xml_failure(&e))?;
        let result = self.call(Op::IfaceDefine(IfaceDefineArgs {
            xml: xml.to_string(),
        }))?;
        Ok(text(&result["name"]))
    }

    fn undefine(&mut self, name: &str) -> Result<(), Failure> {
        self.call(Op::IfaceUndefine(IfaceUndefineArgs {
            name: name.to_string(),
        }))
        .map_err(|e| lookup(name, e))?;
        Ok(())
    }

    fn ifupdown(&mut self, name: &str, up: bool) -> Result<(), Failure> {
        if !self.exists(name)? {
            return Err(Failure::NoSuchInterface {
                name: name.to_string(),
                why: None,
            });
        }
        let args = ChangeArgs {
            targets: vec![name.to_string()],
            verbose: self.debug,
            ..ChangeArgs::default()
        };
        self.call(if up { Op::Ifup(args) } else { Op::Ifdown(args) })?;
        Ok(())
    }

    fn change_begin(&mut self) -> Result<(), Failure> {
        self.call(Op::ChangeBegin).map(|_| ())
    }

    fn change_commit(&mut self) -> Result<(), Failure> {
        self.call(Op::ChangeCommit).map(|_| ())
    }

    fn change_rollback(&mut self) -> Result<(), Failure> {
        self.call(Op::ChangeRollback).map(|_| ())
    }
}
