//! The block-structured grammar nginx reads: directives of words ended by
//! `;`, or followed by a `{ ... }` block of more directives; `#` comments;
//! single- and double-quoted words with backslash escapes.

use super::Location;

/// A word as written, with where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Word {
    pub(crate) text: String,
    pub(crate) at: Location,
}

/// One directive: its name, its arguments, and its block if it has one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Directive {
    pub(crate) name: Word,
    pub(crate) args: Vec<Word>,
    pub(crate) block: Option<Vec<Directive>>,
}

impl Directive {
    /// The directive as written on one line (its block elided).
    pub(crate) fn written(&self) -> String {
        let mut s = self.name.text.clone();
        for a in &self.args {
            s.push(' ');
            if a.text.is_empty() || a.text.contains(char::is_whitespace) {
                s.push('"');
                s.push_str(&a.text);
                s.push('"');
            } else {
                s.push_str(&a.text);
            }
        }
        if self.block.is_some() {
            s.push_str(" { ... }");
        }
        s
    }

    /// Argument `i`'s text.
    pub(crate) fn arg(&self, i: usize) -> Option<&str> {
        self.args.get(i).map(|w| w.text.as_str())
    }
}

/// A syntax error and where.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SyntaxError {
    pub(crate) at: Location,
    pub(crate) message: String,
}

#[derive(Debug, PartialEq)]
enum Tok {
    Word(Word),
    Semi(Location),
    Open(Location),
    Close(Location),
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
    column: usize,
    /// Blocks open now.
    depth: usize,
}

/// Most blocks open at once (nginx's own configs nest a handful).
const MAX_DEPTH: usize = 64;

impl Lexer<'_> {
    fn here(&self) -> Location {
        Location {
            line: self.line,
            column: self.column,
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn next_tok(&mut self) -> Result<Option<Tok>, SyntaxError> {
        loop {
            match self.chars.peek() {
                None => return Ok(None),
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('#') => {
                    while self.chars.peek().is_some_and(|&c| c != '\n') {
                        self.bump();
                    }
                }
                Some(_) => break,
            }
        }
        let at = self.here();
        let c = self.bump().expect("peeked");
        match c {
            ';' => Ok(Some(Tok::Semi(at))),
            '{' => Ok(Some(Tok::Open(at))),
            '}' => Ok(Some(Tok::Close(at))),
            '"' | '\'' => {
                let mut text = String::new();
                loop {
                    match self.bump() {
                        None => {
                            return Err(SyntaxError {
                                at,
                                message: format!("a quoted word opened here has no closing {c}"),
                            })
                        }
                        Some('\\') => match self.bump() {
                            Some('n') => text.push('\n'),
                            Some('t') => text.push('\t'),
                            Some(x) => text.push(x),
                            None => {}
                        },
                        Some(x) if x == c => break,
                        Some(x) => text.push(x),
                    }
                }
                Ok(Some(Tok::Word(Word { text, at })))
            }
            _ => {
                let mut text = String::from(c);
                while let Some(&x) = self.chars.peek() {
                    if x.is_whitespace() || x == ';' || x == '{' || x == '}' {
                        // `${name}` is a variable, not a block.
                        if x == '{' && text.ends_with('$') {
                            text.push(x);
                            self.bump();
                            continue;
                        }
                        if x == '}' && text.contains("${") && !text.ends_with('}') {
                            text.push(x);
                            self.bump();
                            continue;
                        }
                        break;
                    }
                    if x == '\\' {
                        self.bump();
                        if let Some(y) = self.bump() {
                            text.push(y);
                        }
                        continue;
                    }
                    text.push(x);
                    self.bump();
                }
                Ok(Some(Tok::Word(Word { text, at })))
            }
        }
    }
}

/// Parses `text` into its directives.
pub(crate) fn parse(text: &str) -> Result<Vec<Directive>, SyntaxError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lx = Lexer {
        chars: text.chars().peekable(),
        line: 1,
        column: 1,
        depth: 0,
    };
    let (body, end) = parse_block(&mut lx, None)?;
    debug_assert!(end.is_none());
    Ok(body)
}

/// Directives up to the `}` closing the block opened at `opened`, or to
/// the end of the text at the top level.
fn parse_block(
    lx: &mut Lexer<'_>,
    opened: Option<&Location>,
) -> Result<(Vec<Directive>, Option<Location>), SyntaxError> {
    let mut out = Vec::new();
    loop {
        let name = match lx.next_tok()? {
            None => {
                return match opened {
                    None => Ok((out, None)),
                    Some(o) => Err(SyntaxError {
                        at: lx.here(),
                        message: format!(
                            "unexpected end of file, expecting \"}}\" (closing the block opened at {}:{})",
                            o.line, o.column
                        ),
                    }),
                };
            }
            Some(Tok::Close(at)) => {
                return match opened {
                    Some(_) => Ok((out, Some(at))),
                    None => Err(SyntaxError {
                        at,
                        message: "unexpected \"}\": no block is open here".into(),
                    }),
                };
            }
            Some(Tok::Semi(at)) => {
                return Err(SyntaxError {
                    at,
                    message: "unexpected \";\": a directive name was expected".into(),
                })
            }
            Some(Tok::Open(at)) => {
                return Err(SyntaxError {
                    at,
                    message: "unexpected \"{\": a directive name was expected".into(),
                })
            }
            Some(Tok::Word(w)) => w,
        };
        let mut args = Vec::new();
        loop {
            match lx.next_tok()? {
                Some(Tok::Word(w)) => args.push(w),
                Some(Tok::Semi(_)) => {
                    out.push(Directive {
                        name,
                        args,
                        block: None,
                    });
                    break;
                }
                Some(Tok::Open(at)) => {
                    if lx.depth >= MAX_DEPTH {
                        return Err(SyntaxError {
                            at,
                            message: format!("blocks nested more than {MAX_DEPTH} deep"),
                        });
                    }
                    lx.depth += 1;
                    let (block, _) = parse_block(lx, Some(&at))?;
                    lx.depth -= 1;
                    out.push(Directive {
                        name,
                        args,
                        block: Some(block),
                    });
                    break;
                }
                Some(Tok::Close(at)) => {
                    return Err(SyntaxError {
                        at,
                        message: format!(
                            "unexpected \"}}\": directive \"{}\" is not terminated by \";\"",
                            name.text
                        ),
                    })
                }
                None => {
                    return Err(SyntaxError {
                        at: lx.here(),
                        message: format!(
                        "unexpected end of file, expecting \";\" or \"{{\" after directive \"{}\"",
                        name.text
                    ),
                    })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_blocks_comments_and_quotes() {
        let d = parse(
            "http {\n  upstream a { server x:1 weight=2; # two\n }\n  log_format m '$a \"b\"';\n}\n",
        )
        .unwrap();
        assert_eq!(d.len(), 1);
        let http = d[0].block.as_ref().unwrap();
        assert_eq!(http[0].name.text, "upstream");
        assert_eq!(http[0].arg(0), Some("a"));
        let up = http[0].block.as_ref().unwrap();
        assert_eq!(up[0].written(), "server x:1 weight=2");
        assert_eq!(
            up[0].name.at,
            Location {
                line: 2,
                column: 16
            }
        );
        assert_eq!(http[1].arg(1), Some("$a \"b\""));
    }

    #[test]
    fn variables_in_braces_are_words() {
        let d = parse("set $x ${host}_${uri};").unwrap();
        assert_eq!(d[0].arg(1), Some("${host}_${uri}"));
    }

    #[test]
    fn errors_say_where_and_what_was_expected() {
        let e = parse("upstream a {\n  server x\n}\n").unwrap_err();
        assert_eq!(e.at, Location { line: 3, column: 1 });
        assert!(
            e.message.contains("not terminated by \";\""),
            "{}",
            e.message
        );
        let e = parse("upstream a {\n  server x;\n").unwrap_err();
        assert!(e.message.contains("opened at 1:12"), "{}", e.message);
        let e = parse("}").unwrap_err();
        assert_eq!(e.at, Location { line: 1, column: 1 });
        let e = parse("server 'x;").unwrap_err();
        assert!(e.message.contains("no closing '"), "{}", e.message);
        let e = parse(&"a {".repeat(100_000)).unwrap_err();
        assert!(
            e.message.contains("nested more than 64 deep"),
            "{}",
            e.message
        );
    }
}
