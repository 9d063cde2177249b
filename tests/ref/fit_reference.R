#!/usr/bin/env Rscript
# Independent R check of `kspill fit` (tests/mpi/test_fit_r.sh, bench/fit): the
# paper's model (4) fitted with base R's glm() on a panel exported as CSV.
#
#   Rscript tests/ref/fit_reference.R PANEL.csv OUT.csv [--link probit|logit]
#                                     [--polish N] [--quiet]
#
# PANEL.csv: `kspill export JOB.ini --format csv` (docs/export.md), at least the
# columns year, industry, export, density_firm, density_city, tradevalue,
# newexport (others are ignored), read with data.table::fread. The model:
#
#   export ~ density_firm + density_city + dfdc + tradevalue + newexport
#            + factor(year) + factor(industry)
#   dfdc = density_firm * density_city, its own column (kspill's `a*b` term);
#   intercept; each factor's first (smallest) level dropped, as kspill does;
#   family = binomial(link = "probit" | "logit"),
#   control = glm.control(epsilon = 1e-14, maxit = 100).
#
# The sample follows kspill's documented rules (docs/fit.md), implemented here
# independently: rows with a missing value in any of these columns are left
# out (e.g. the first year's newexport); levels of year/industry whose rows all
# have the same outcome are dropped with their rows, repeated while that
# changes anything; a factor with one level gets no dummies.
#
# Convergence. glm() stops on the relative change of the deviance; for probit
# its IRLS is Fisher scoring, which converges linearly, so with epsilon = 1e-14
# it can stop short of the maximum: measured 1.4e-10 (x terms and _cons) and
# 1.9e-8 (fixed-effect dummies) relative on 10^5 simulated rows, 1.3e-9 and
# 1.1e-7 on the demo panel; too close to a 1e-8 check to be meaningful. The
# script then computes the Newton decrement g'H^-1 g (g the score, H the
# observed information, from R's pnorm/dnorm/plogis in both tails) and, while
# it is above 1e-24, restarts glm.fit() from the current coefficients (glm's
# own IRLS, run further; at most --polish N restarts, default 10, 0 for none).
# The decrement d puts the coefficients sqrt(d) standard errors from the
# maximum. `estimate` is the polished value, `estimate_glm` glm()'s own.
#
# Standard errors:
#   std_error          OIM: sqrt(diag(H^-1)), H the observed information at
#                      `estimate`, as kspill's `se = oim` and statsmodels.
#   std_error_summary  summary(fit)$coefficients[, 2] of glm's last IRLS fit:
#                      the *expected* information. The same as OIM for logit
#                      (the canonical link); for probit it differs from OIM
#                      (measured 1e-3 to 1e-2 relative), so it is not compared.
#
# OUT.csv, written as OUT.csv.partial and renamed when complete; header
#   term,estimate,std_error,std_error_summary,estimate_glm,kind
#   kind = coefficient: the x terms in kspill's names and order
#                       (density_firm*density_city for dfdc), then _cons;
#   kind = fe:          year=LEVEL, industry=LEVEL;
#   kind = stat (value in `estimate`):
#     loglik                 logLik(fit) at `estimate` (-binomial()$aic / 2)
#     loglik_exact           sum of log Phi(q xb) (or log plogis), q = 2y - 1
#     n, k                   rows in the sample, parameters
#     iterations, converged  glm()'s own IRLS
#     polish_steps, polish_max_rel_change, newton_decrement_glm, newton_decrement
#     glm_seconds            the glm() call alone (model frame, model matrix, IRLS)
#     read_seconds           fread
#     glm_gc_max_mb          gc() "max used" (Ncells + Vcells) during glm(): R's heap
#     peak_rss_mb            VmHWM of this R process (everything, polishing included)
# Numbers are written with %.17g. Exit status 0 on success; 2 on bad input or
# failure, with a message on stderr starting "fit_reference.R: error:".
# Needs R >= 4.0 with data.table (Debian: r-base-core r-cran-data.table).

suppressPackageStartupMessages(library(data.table))

die <- function(..., sep = " ") {
  cat("fit_reference.R: error: ", paste(..., sep = sep), "\n", sep = "", file = stderr())
  quit(save = "no", status = 2)
}
usage <- "usage: Rscript fit_reference.R PANEL.csv OUT.csv [--link probit|logit] [--polish N] [--quiet]"

args <- commandArgs(trailingOnly = TRUE)
pos <- character(0)
link <- "probit"
polish <- 10L
quiet <- FALSE
i <- 1L
while (i <= length(args)) {
  a <- args[i]
  if (a == "--link" || a == "--polish") {
    if (i == length(args)) die(a, "needs a value;", usage)
    v <- args[i + 1L]
    if (a == "--link") {
      if (!(v %in% c("probit", "logit"))) die("--link must be probit or logit, not", sQuote(v, FALSE))
      link <- v
    } else {
      polish <- suppressWarnings(as.integer(v))
      if (is.na(polish) || polish < 0L) die("--polish needs a count >= 0, not", sQuote(v, FALSE))
    }
    i <- i + 2L
  } else if (a == "--quiet") {
    quiet <- TRUE
    i <- i + 1L
  } else if (startsWith(a, "--")) {
    die("unknown option", sQuote(a, FALSE), ";", usage)
  } else {
    pos <- c(pos, a)
    i <- i + 1L
  }
}
if (length(pos) != 2L) die("expected PANEL.csv and OUT.csv;", usage)
csv <- pos[1]
out <- pos[2]
if (!file.exists(csv)) die("cannot read", csv, "(no such file)")
if (dir.exists(csv)) die("cannot read", csv, "(a folder, not a file)")
if (file.size(csv) == 0) die(csv, "is empty (expected a header row and the panel's rows)")
if (!dir.exists(dirname(out))) die("cannot write", out, "(folder", dirname(out), "does not exist)")
say <- function(...) if (!quiet) cat(..., "\n", sep = "")

X <- c("density_firm", "density_city", "density_firm*density_city", "tradevalue", "newexport")
need <- c("year", "industry", "export", "density_firm", "density_city", "tradevalue", "newexport")

# ---- read ----
t_read <- proc.time()[["elapsed"]]
hdr <- tryCatch(names(fread(csv, nrows = 0L, colClasses = "character")), error = function(e) die("cannot read", csv, "as CSV:", conditionMessage(e)))
miss <- setdiff(need, hdr)
if (length(miss)) die(csv, " lacks the column(s) ", paste(miss, collapse = ", "), "; it has: ", paste(hdr, collapse = ", "), sep = "")
d <- tryCatch(fread(csv, select = need, na.strings = "", showProgress = FALSE),
              error = function(e) die("cannot read", csv, ":", conditionMessage(e)))
t_read <- proc.time()[["elapsed"]] - t_read
for (v in need) if (!is.numeric(d[[v]])) die("column", v, "of", csv, "is not numeric: it holds", sQuote(d[[v]][1], FALSE))
n_all <- nrow(d)
d <- d[complete.cases(d)]
if (nrow(d) == 0L) die(csv, "has no rows without missing values in", paste(need, collapse = ", "))
if (!all(d$export %in% c(0, 1))) die("export must be 0 or 1; found", paste(head(setdiff(unique(d$export), c(0, 1)), 5), collapse = ", "))
if (length(unique(d$export)) < 2L) die("export takes one value only in", csv, ": nothing to estimate")
say(sprintf("read %s: %d rows (%d with missing values left out) in %.2f s", csv, n_all, n_all - nrow(d), t_read))
# kspill's rule (docs/fit.md): levels whose rows all have the same outcome predict it
# perfectly and are dropped with their rows, repeated while that empties other levels
for (round in 1:20) {
  changed <- FALSE
  for (v in c("year", "industry")) {
    s <- d[, .(n = .N, pos = sum(export)), by = v]
    perfect <- s[pos == 0 | pos == n]
    if (nrow(perfect)) {
      say(sprintf("%d level(s) of %s predict export perfectly: %d rows dropped", nrow(perfect), v, sum(perfect$n)))
      d <- d[!(get(v) %in% perfect[[v]])]
      changed <- TRUE
    }
  }
  if (!changed) break
}
if (nrow(d) == 0L || length(unique(d$export)) < 2L) die("no rows left once the levels that predict export perfectly are dropped")
d[, dfdc := density_firm * density_city]
rhs <- c("density_firm", "density_city", "dfdc", "tradevalue", "newexport")
for (v in c("year", "industry")) {
  d[, (v) := factor(get(v))]  # levels in numeric order: the first (smallest) is the base
  if (nlevels(d[[v]]) > 1L) rhs <- c(rhs, v) else say(sprintf("%s has one level in the sample: no dummies", v))
}

# ---- glm ----
fam <- binomial(link = link)
ctl <- glm.control(epsilon = 1e-14, maxit = 100)
fml <- reformulate(rhs, response = "export")
invisible(gc(reset = TRUE))
t0 <- proc.time()[["elapsed"]]
fit <- tryCatch(glm(fml, family = fam, data = d, control = ctl),
                error = function(e) die("glm() failed:", conditionMessage(e)))
glm_s <- proc.time()[["elapsed"]] - t0
gmax <- gc()
glm_mb <- sum(gmax[, ncol(gmax)])  # "max used" (Mb) of Ncells and Vcells since the reset
say(sprintf("glm(%s): %d iterations, converged %s, deviance %.17g, %.2f s, gc max used %.0f MB",
            link, fit$iter, fit$converged, fit$deviance, glm_s, glm_mb))
if (any(is.na(coef(fit)))) die("glm dropped collinear column(s):", paste(names(which(is.na(coef(fit)))), collapse = ", "))

M <- model.matrix(fit)  # rebuilt from fit$model, outside the timed call
y <- fit$y
q <- 2 * y - 1
# score and observed information of the log-likelihood at b
score_info <- function(b) {
  eta <- drop(M %*% b)
  if (link == "probit") {
    lam <- exp(dnorm(q * eta, log = TRUE) - pnorm(q * eta, log.p = TRUE))  # phi/Phi at q*eta, both tails
    g <- q * lam
    w <- lam * (lam + q * eta)
  } else {
    mu <- plogis(eta)
    g <- y - mu
    w <- mu * (1 - mu)
  }
  H <- crossprod(M * sqrt(w))
  gr <- drop(crossprod(M, g))
  list(g = gr, H = H, dec = drop(crossprod(gr, solve(H, gr))))
}
b <- coef(fit)
si <- score_info(b)
dec0 <- si$dec
steps <- 0L
b_glm <- b
while (steps < polish && si$dec > 1e-24) {
  f2 <- suppressWarnings(glm.fit(M, y, start = b, family = fam, control = ctl))
  steps <- steps + 1L
  b_new <- f2$coefficients
  s2 <- score_info(b_new)
  if (s2$dec >= si$dec) break  # at the rounding floor
  b <- b_new
  si <- s2
}
chg <- max(abs(b - b_glm) / pmax(abs(b), 1e-300))
say(sprintf("Newton decrement g'H^-1 g: %.2e after glm, %.2e after %d restart(s) of glm.fit; max rel change %.2e",
            dec0, si$dec, steps, chg))

V <- chol2inv(chol(si$H))
se <- sqrt(diag(V))
# summary(): the expected-information SEs of glm's last IRLS fit (glm's own, or the last restart)
last <- if (steps > 0L) structure(f2, class = c("glm", "lm")) else fit
se_sum <- summary(last)$coefficients[, 2]

# loglik as R reports it, and summed in both tails
eta <- drop(M %*% b)
ll_exact <- if (link == "probit") sum(pnorm(q * eta, log.p = TRUE)) else sum(plogis(q * eta, log.p = TRUE))
# (logLik(fit) is -binomial()$aic / 2, at glm's own stopping point: the same formula at b)
one <- rep(1, length(y))
ll <- if (steps > 0L) fam$aic(y, one, fam$linkinv(eta), one, 0) / -2 else as.numeric(logLik(fit))

# ---- write ----
rn <- names(b)
term <- rn
term[rn == "(Intercept)"] <- "_cons"
term[rn == "dfdc"] <- "density_firm*density_city"
term <- sub("^year", "year=", sub("^industry", "industry=", term))
ord <- c(match(X, term), match("_cons", term))
if (anyNA(ord)) die("internal: a term of the model is missing from glm's coefficients:", paste(rn, collapse = ", "))
fe <- setdiff(seq_along(term), ord)
num <- function(v) ifelse(is.na(v), "", sprintf("%.17g", v))
rss <- tryCatch({
  st <- readLines("/proc/self/status")
  as.numeric(sub("[^0-9]*([0-9]+).*", "\\1", grep("^VmHWM", st, value = TRUE))) / 1024
}, error = function(e) NA_real_, warning = function(w) NA_real_)
stats <- c(loglik = ll, loglik_exact = ll_exact, n = length(y), k = length(b), iterations = fit$iter,
           converged = as.numeric(fit$converged), polish_steps = steps, polish_max_rel_change = chg,
           newton_decrement_glm = dec0, newton_decrement = si$dec, glm_seconds = glm_s,
           read_seconds = t_read, glm_gc_max_mb = glm_mb, peak_rss_mb = rss)
rows <- c(
  sprintf("%s,%s,%s,%s,%s,coefficient", term[ord], num(b[ord]), num(se[ord]), num(se_sum[ord]), num(b_glm[ord])),
  sprintf("%s,%s,%s,%s,%s,fe", term[fe], num(b[fe]), num(se[fe]), num(se_sum[fe]), num(b_glm[fe])),
  sprintf("%s,%s,,,,stat", names(stats), num(stats)))
tmp <- paste0(out, ".partial")
ok <- tryCatch({
  writeLines(c("term,estimate,std_error,std_error_summary,estimate_glm,kind", rows), tmp)
  file.rename(tmp, out)
}, error = function(e) FALSE, warning = function(w) FALSE)
if (!isTRUE(ok)) {
  unlink(tmp)
  die("cannot write", out)
}
say(sprintf("loglik %.17g (logLik), %.17g (exact); max |OIM/summary - 1| of the SEs %.2e; wrote %s",
            ll, ll_exact, max(abs(se / se_sum - 1)), out))
