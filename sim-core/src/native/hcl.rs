//! Enough of HCL (HashiCorp's configuration language, Terraform's `.tf`)
//! to read the blocks and literal attributes of a configuration.
//!
//! Bodies hold attributes (`name = expression`) and blocks (`type "label"
//! { ... }`). An expression is read when it is a literal (string, number,
//! bool, null, list, object) or a reference (`var.max`,
//! `aws_appautoscaling_policy.up.arn`); anything else (operators,
//! conditionals, `for`) is kept as its text ([`Expr::Other`]) so the
//! reader can say it is not a value it can use. Strings keep their
//! `${...}` interpolations as written. Comments (`#`, `//`, `/* */`) and
//! heredocs (`<<EOF`, `<<-EOF`) are understood.

use super::Location;

/// Deepest nesting of blocks, lists and objects.
const MAX_DEPTH: usize = 64;

/// An expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    List(Vec<(Expr, Location)>),
    Object(Vec<(String, Expr, Location)>),
    /// A reference: `var.x`, `aws_appautoscaling_policy.up.arn`.
    Ref(String),
    /// Anything else, as written.
    Other(String),
}

/// `name = value`.
#[derive(Debug, Clone)]
pub(crate) struct Attr {
    pub(crate) name: String,
    pub(crate) value: Expr,
    pub(crate) at: Location,
}

/// `kind "label"... { body }`.
#[derive(Debug, Clone)]
pub(crate) struct Block {
    pub(crate) kind: String,
    pub(crate) labels: Vec<String>,
    pub(crate) body: Body,
    pub(crate) at: Location,
}

/// A body's attributes and blocks, in file order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Body {
    pub(crate) attrs: Vec<Attr>,
    pub(crate) blocks: Vec<Block>,
}

impl Body {
    /// The attribute `name`.
    pub(crate) fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Punct(char),
    Newline,
    /// An operator or anything else an expression may hold.
    Other(String),
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    line: usize,
    col: usize,
}

type Fail = (Location, String);

impl<'a> Lexer<'a> {
    fn at(&self) -> Location {
        Location {
            line: self.line,
            column: self.col,
        }
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn tokens(mut self) -> Result<Vec<(Tok, Location)>, Fail> {
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            let at = self.at();
            match c {
                '\n' => {
                    self.bump();
                    out.push((Tok::Newline, at));
                }
                c if c.is_whitespace() => {
                    self.bump();
                }
                '#' => self.skip_line(),
                '/' if self.rest().starts_with("//") => self.skip_line(),
                '/' if self.rest().starts_with("/*") => match self.rest().find("*/") {
                    Some(end) => {
                        for _ in self.rest()[..end + 2].chars() {
                            self.bump();
                        }
                    }
                    None => return Err((at, "a `/*` comment that is never closed".into())),
                },
                '"' => {
                    let s = self.string(at.clone())?;
                    out.push((Tok::Str(s), at));
                }
                '<' if self.rest().starts_with("<<") => {
                    let s = self.heredoc(at.clone())?;
                    out.push((Tok::Str(s), at));
                }
                c if c.is_ascii_digit() => {
                    let n = self.number(at.clone())?;
                    out.push((Tok::Num(n), at));
                }
                c if c.is_alphabetic() || c == '_' => {
                    let mut s = String::new();
                    while let Some(c) = self.peek() {
                        if c.is_alphanumeric() || c == '_' || c == '-' {
                            s.push(c);
                            self.bump();
                        } else {
                            break;
                        }
                    }
                    out.push((Tok::Ident(s), at));
                }
                '{' | '}' | '[' | ']' | '(' | ')' | '=' | ',' | '.' | ':' => {
                    self.bump();
                    // `==` and `=>` are operators, not assignments.
                    if c == '=' && matches!(self.peek(), Some('=' | '>')) {
                        let d = self.bump().unwrap_or('=');
                        out.push((Tok::Other(format!("={d}")), at));
                    } else {
                        out.push((Tok::Punct(c), at));
                    }
                }
                _ => {
                    self.bump();
                    out.push((Tok::Other(c.to_string()), at));
                }
            }
        }
        Ok(out)
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.peek() {
            if c == '\n' {
                break;
            }
            self.bump();
        }
    }

    fn number(&mut self, at: Location) -> Result<f64, Fail> {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            let sign_after_e = (c == '-' || c == '+') && s.ends_with(['e', 'E']);
            if c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E' || sign_after_e {
                s.push(c);
                self.bump();
            } else {
                break;
            }
        }
        s.parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .ok_or((at, format!("`{s}` is not a number")))
    }

    /// A quoted string; `${...}` and `%{...}` are kept as written.
    fn string(&mut self, at: Location) -> Result<String, Fail> {
        self.bump();
        let mut s = String::new();
        let mut depth = 0usize;
        loop {
            let Some(c) = self.bump() else {
                return Err((at, "a string that is never closed".into()));
            };
            match c {
                '"' if depth == 0 => return Ok(s),
                '\n' if depth == 0 => {
                    return Err((at, "a string that runs past the end of its line".into()))
                }
                '\\' => match self.bump() {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some(e) => s.push(e),
                    None => return Err((at, "a string that is never closed".into())),
                },
                '$' | '%' if self.peek() == Some('{') => {
                    s.push(c);
                    s.push('{');
                    self.bump();
                    depth += 1;
                }
                '}' if depth > 0 => {
                    s.push(c);
                    depth -= 1;
                }
                c => s.push(c),
            }
        }
    }

    fn heredoc(&mut self, at: Location) -> Result<String, Fail> {
        self.bump();
        self.bump();
        if self.peek() == Some('-') || self.peek() == Some('~') {
            self.bump();
        }
        let mut marker = String::new();
        while let Some(c) = self.peek() {
            if c == '\n' {
                break;
            }
            marker.push(c);
            self.bump();
        }
        let marker = marker.trim().to_string();
        if marker.is_empty() {
            return Err((at, "a heredoc (`<<`) without its end marker".into()));
        }
        self.bump();
        let mut body = String::new();
        loop {
            let mut line = String::new();
            if self.peek().is_none() {
                return Err((at, format!("a heredoc never closed by `{marker}`")));
            }
            while let Some(c) = self.peek() {
                if c == '\n' {
                    break;
                }
                line.push(c);
                self.bump();
            }
            if line.trim() == marker {
                return Ok(body);
            }
            body.push_str(&line);
            body.push('\n');
            self.bump();
        }
    }
}

struct Parser {
    toks: Vec<(Tok, Location)>,
    i: usize,
    end: Location,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.0)
    }

    fn at(&self) -> Location {
        self.toks
            .get(self.i)
            .map_or_else(|| self.end.clone(), |t| t.1.clone())
    }

    fn next(&mut self) -> Option<(Tok, Location)> {
        let t = self.toks.get(self.i).cloned();
        self.i += 1;
        t
    }

    fn skip_newlines(&mut self) {
        while self.peek() == Some(&Tok::Newline) {
            self.i += 1;
        }
    }

    fn body(&mut self, depth: usize, opened: Option<&Location>) -> Result<Body, Fail> {
        let closed = opened.is_some();
        if depth > MAX_DEPTH {
            return Err((self.at(), format!("nested more than {MAX_DEPTH} deep")));
        }
        let mut body = Body::default();
        loop {
            self.skip_newlines();
            let at = self.at();
            match self.next() {
                None if closed => {
                    let at = opened.cloned().unwrap_or(at);
                    return Err((at, "a block that is never closed (`}`)".into()));
                }
                None => return Ok(body),
                Some((Tok::Punct('}'), _)) if closed => return Ok(body),
                Some((Tok::Ident(name), at)) => {
                    if self.peek() == Some(&Tok::Punct('=')) {
                        self.i += 1;
                        let value = self.expr(depth + 1)?;
                        self.end_of_item()?;
                        body.attrs.push(Attr { name, value, at });
                    } else {
                        let mut labels = Vec::new();
                        loop {
                            match self.next() {
                                Some((Tok::Str(s) | Tok::Ident(s), _)) => labels.push(s),
                                Some((Tok::Punct('{'), _)) => break,
                                _ => {
                                    return Err((
                                        at,
                                        format!("`{name}`: expected `=` and a value, or a block's labels and `{{`"),
                                    ))
                                }
                            }
                        }
                        let inner = self.body(depth + 1, Some(&at))?;
                        body.blocks.push(Block {
                            kind: name,
                            labels,
                            body: inner,
                            at,
                        });
                    }
                }
                Some((t, at)) => {
                    return Err((
                        at,
                        format!(
                            "expected an attribute (`name = value`) or a block, found {}",
                            describe(&t)
                        ),
                    ))
                }
            }
        }
    }

    fn end_of_item(&mut self) -> Result<(), Fail> {
        match self.peek() {
            None | Some(Tok::Newline) | Some(Tok::Punct('}')) => Ok(()),
            Some(t) => Err((
                self.at(),
                format!("expected the end of the line, found {}", describe(t)),
            )),
        }
    }

    fn expr(&mut self, depth: usize) -> Result<Expr, Fail> {
        if depth > MAX_DEPTH {
            return Err((self.at(), format!("nested more than {MAX_DEPTH} deep")));
        }
        let start = self.i;
        let e = self.primary(depth)?;
        // More on the line (an operator, a conditional): not a literal.
        if matches!(self.peek(), Some(Tok::Other(_)))
            || matches!(self.peek(), Some(Tok::Punct('.' | ':' | '(' | '[')))
                && !matches!(e, Expr::List(_) | Expr::Object(_))
        {
            self.skip_expression();
            return Ok(Expr::Other(self.text(start)));
        }
        Ok(e)
    }

    /// The tokens from `start` to here, as text.
    fn text(&self, start: usize) -> String {
        let mut s = String::new();
        for (t, _) in &self.toks[start..self.i.min(self.toks.len())] {
            match t {
                Tok::Ident(x) | Tok::Other(x) => s.push_str(x),
                Tok::Str(x) => s.push_str(&format!("{x:?}")),
                Tok::Num(n) => s.push_str(&n.to_string()),
                Tok::Punct(c) => s.push(*c),
                Tok::Newline => s.push(' '),
            }
        }
        s
    }

    /// Skips to the end of the expression: the line's end outside
    /// brackets, or a closing bracket or comma of the enclosing one.
    fn skip_expression(&mut self) {
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            match t {
                Tok::Punct('(' | '[' | '{') => depth += 1,
                Tok::Punct(')' | ']' | '}') if depth == 0 => return,
                Tok::Punct(')' | ']' | '}') => depth -= 1,
                Tok::Punct(',') | Tok::Newline if depth == 0 => return,
                _ => {}
            }
            self.i += 1;
        }
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, Fail> {
        let at = self.at();
        match self.next() {
            Some((Tok::Str(s), _)) => Ok(Expr::Str(s)),
            Some((Tok::Num(n), _)) => Ok(Expr::Num(n)),
            Some((Tok::Other(m), _)) if m == "-" && matches!(self.peek(), Some(Tok::Num(_))) => {
                match self.next() {
                    Some((Tok::Num(n), _)) => Ok(Expr::Num(-n)),
                    _ => Err((at, "`-` must be followed by a number".into())),
                }
            }
            // `-var.x`, `!var.on`: an operator on an expression, kept as text.
            Some((Tok::Other(m), _)) if m == "-" || m == "!" => {
                let start = self.i - 1;
                self.primary(depth + 1)?;
                Ok(Expr::Other(self.text(start)))
            }
            // `(...)`: kept as text.
            Some((Tok::Punct('('), _)) => {
                let start = self.i - 1;
                self.skip_balanced('(', ')', at, depth)?;
                Ok(Expr::Other(self.text(start)))
            }
            Some((Tok::Ident(id), _)) => Ok(match id.as_str() {
                "true" => Expr::Bool(true),
                "false" => Expr::Bool(false),
                "null" => Expr::Null,
                _ => self.reference(id, depth)?,
            }),
            // `[for x in xs : x]` and `{for k, v in m : k => v}`: kept as
            // text.
            Some((Tok::Punct(open @ ('[' | '{')), _)) if matches!(self.peek(), Some(Tok::Ident(f)) if f == "for") =>
            {
                let start = self.i - 1;
                let close = if open == '[' { ']' } else { '}' };
                self.skip_balanced(open, close, at, depth)?;
                Ok(Expr::Other(self.text(start)))
            }
            Some((Tok::Punct('['), _)) => self.list(depth),
            Some((Tok::Punct('{'), _)) => self.object(depth),
            Some((t, at)) => Err((at, format!("expected a value, found {}", describe(&t)))),
            None => Err((at, "expected a value, found the end of the file".into())),
        }
    }

    /// Skips to the `close` matching an `open` just read.
    fn skip_balanced(
        &mut self,
        open: char,
        close: char,
        at: Location,
        depth: usize,
    ) -> Result<(), Fail> {
        let mut level = 1usize;
        while level > 0 {
            match self.next() {
                Some((Tok::Punct(c), _)) if c == open => level += 1,
                Some((Tok::Punct(c), _)) if c == close => level -= 1,
                Some(_) => {}
                None => return Err((at, format!("`{open}` is never closed"))),
            }
            if level + depth > MAX_DEPTH {
                return Err((at, format!("nested more than {MAX_DEPTH} deep")));
            }
        }
        Ok(())
    }

    /// `a.b.c`, `a[0].b`, or a function call (kept as text).
    fn reference(&mut self, first: String, depth: usize) -> Result<Expr, Fail> {
        let start = self.i - 1;
        if self.peek() == Some(&Tok::Punct('(')) {
            self.i += 1;
            let mut open = 1usize;
            while open > 0 {
                match self.next() {
                    Some((Tok::Punct('('), _)) => open += 1,
                    Some((Tok::Punct(')'), _)) => open -= 1,
                    Some(_) => {}
                    None => return Err((self.at(), format!("`{first}(` is never closed"))),
                }
                if open > MAX_DEPTH + depth {
                    return Err((self.at(), format!("nested more than {MAX_DEPTH} deep")));
                }
            }
            return Ok(Expr::Other(self.text(start)));
        }
        let mut path = first;
        loop {
            match (self.peek(), self.toks.get(self.i + 1).map(|t| &t.0)) {
                (Some(Tok::Punct('.')), Some(Tok::Ident(x))) => {
                    path.push('.');
                    path.push_str(x);
                    self.i += 2;
                }
                (Some(Tok::Punct('.')), Some(Tok::Num(n))) => {
                    path.push_str(&format!(".{n}"));
                    self.i += 2;
                }
                (Some(Tok::Punct('[')), Some(Tok::Num(n))) => {
                    if self.toks.get(self.i + 2).map(|t| &t.0) != Some(&Tok::Punct(']')) {
                        break;
                    }
                    path.push_str(&format!("[{n}]"));
                    self.i += 3;
                }
                _ => break,
            }
        }
        Ok(Expr::Ref(path))
    }

    fn list(&mut self, depth: usize) -> Result<Expr, Fail> {
        let mut items = Vec::new();
        loop {
            self.skip_newlines();
            if self.peek() == Some(&Tok::Punct(']')) {
                self.i += 1;
                return Ok(Expr::List(items));
            }
            let at = self.at();
            let e = self.expr(depth + 1)?;
            items.push((e, at));
            self.skip_newlines();
            match self.next() {
                Some((Tok::Punct(','), _)) => {}
                Some((Tok::Punct(']'), _)) => return Ok(Expr::List(items)),
                Some((t, at)) => {
                    return Err((at, format!("expected `,` or `]`, found {}", describe(&t))))
                }
                None => return Err((self.at(), "a list that is never closed (`]`)".into())),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Expr, Fail> {
        let mut items = Vec::new();
        loop {
            self.skip_newlines();
            let at = self.at();
            let key = match self.next() {
                Some((Tok::Punct('}'), _)) => return Ok(Expr::Object(items)),
                Some((Tok::Ident(k) | Tok::Str(k), _)) => k,
                Some((t, at)) => {
                    return Err((
                        at,
                        format!("expected an object key, found {}", describe(&t)),
                    ))
                }
                None => return Err((at, "an object that is never closed (`}`)".into())),
            };
            match self.next() {
                Some((Tok::Punct('=' | ':'), _)) => {}
                _ => return Err((at, format!("`{key}`: expected `=` and a value"))),
            }
            let e = self.expr(depth + 1)?;
            items.push((key, e, at));
            if self.peek() == Some(&Tok::Punct(',')) {
                self.i += 1;
            }
        }
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Str(_) => "a string".into(),
        Tok::Num(n) => format!("`{n}`"),
        Tok::Punct(c) => format!("`{c}`"),
        Tok::Newline => "the end of the line".into(),
        Tok::Other(s) => format!("`{s}`"),
    }
}

/// Parses a configuration file's top-level body.
pub(crate) fn parse(text: &str) -> Result<Body, (Location, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lexer = Lexer {
        src: text,
        pos: 0,
        line: 1,
        col: 1,
    };
    let toks = lexer.tokens()?;
    let end = Location {
        line: text.lines().count().max(1),
        column: 1,
    };
    let mut p = Parser { toks, i: 0, end };
    p.body(0, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_attributes_and_literals() {
        let b = parse(
            r#"
# a comment
resource "aws_appautoscaling_policy" "up" {
  name        = "scale-up"   // trailing
  policy_type = "StepScaling"
  resource_id = aws_appautoscaling_target.t.resource_id
  step_scaling_policy_configuration {
    cooldown = 60
    step_adjustment {
      metric_interval_lower_bound = 0
      scaling_adjustment          = -1
    }
  }
  tags = { team = "a", "x-y": 2 }
  list = [1, "two", var.three]
  /* block
     comment */
  cond = var.on ? 1 : 2
  doc = <<-EOT
    text ${x}
  EOT
}
"#,
        )
        .unwrap();
        let r = &b.blocks[0];
        assert_eq!(r.labels, ["aws_appautoscaling_policy", "up"]);
        assert_eq!(r.at.line, 3);
        assert_eq!(
            r.body.attr("resource_id").unwrap().value,
            Expr::Ref("aws_appautoscaling_target.t.resource_id".into())
        );
        let step = &r.body.blocks[0].body.blocks[0];
        assert_eq!(
            step.body.attr("scaling_adjustment").unwrap().value,
            Expr::Num(-1.0)
        );
        assert!(matches!(r.body.attr("cond").unwrap().value, Expr::Other(_)));
        let b = parse(
            "a = [for p in var.ps : p.arn]\nb = {for k, v in m : k => v}\nc = -var.x\nd = !var.on\ne = (1)\nf = -2\n",
        )
        .unwrap();
        for k in ["a", "b", "c", "d", "e"] {
            assert!(matches!(b.attr(k).unwrap().value, Expr::Other(_)), "{k}");
        }
        assert_eq!(b.attr("f").unwrap().value, Expr::Num(-2.0));
        assert!(matches!(r.body.attr("tags").unwrap().value, Expr::Object(ref o) if o.len() == 2));
        assert_eq!(
            r.body.attr("doc").unwrap().value,
            Expr::Str("    text ${x}\n".into())
        );
    }

    #[test]
    fn errors_have_their_place_and_nothing_panics() {
        for (text, line) in [
            ("a = \"open", 1),
            ("x {\n y = 1\n", 1),
            ("a = [1, 2", 1),
            ("a = ", 1),
            ("= 3", 1),
            ("/* never", 1),
            ("a = <<EOF\nno end", 1),
            ("a = 1 2", 1),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.0.line, line, "{text:?}: {e:?}");
        }
        let deep = "a = ".to_string() + &"[".repeat(200);
        assert!(parse(&deep).unwrap_err().1.contains("deep"));
        let deep = "x {".repeat(100);
        assert!(parse(&deep).unwrap_err().1.contains("deep"));
        for junk in [
            "a = -",
            "a = f(",
            "a.b = 1",
            "{",
            "}",
            "\"s\"",
            "a = {b}",
            "a = 1e999",
        ] {
            let _ = parse(junk);
        }
    }
}
