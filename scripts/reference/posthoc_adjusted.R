# Reference values for tukey_hsd(..., adjust_for=...): Tukey comparisons of estimated
# marginal means of the additive model  dev ~ system + intent  (clip means of the bundled
# AImoclips release), computed with base R: lm, vcov and ptukey/qtukey
# (what emmeans::pairs(emmeans(fit, "system")) does with its default Tukey adjustment).
# Also TukeyHSD(aov(dev ~ system + intent), "system") for comparison.
# Run from the repository root:  Rscript scripts/reference/posthoc_adjusted.R
# Writes tests/reference/posthoc_adjusted.json.  Needs r-base-core, r-cran-jsonlite.
suppressPackageStartupMessages(library(jsonlite))
data_dir <- "src/emoconvey/data/aimoclips"
clips <- read.csv(file.path(data_dir, "clips_metadata.csv"), stringsAsFactors = FALSE)
intents <- read.csv(file.path(data_dir, "emotion_intents_metadata.csv"), stringsAsFactors = FALSE)
ratings <- read.csv(file.path(data_dir, "ratings_metadata.csv"), stringsAsFactors = FALSE)
# clip means from the ratings (the release's clips file rounds them), clips with >= 4 ratings
agg <- aggregate(cbind(valence, arousal) ~ audio_file, data = ratings, FUN = mean)
n <- aggregate(valence ~ audio_file, data = ratings, FUN = length)
agg <- agg[agg$audio_file %in% n$audio_file[n$valence >= 4], ]
parts <- strsplit(sub("\\.wav$", "", agg$audio_file), "_")
agg$system <- vapply(parts, `[`, "", 1)
agg$intent <- vapply(parts, `[`, "", 2)
systems <- sort(unique(agg$system))
agg$system <- factor(agg$system, levels = systems)
agg$intent <- factor(agg$intent, levels = sort(unique(agg$intent)))
out <- list(source = "base R lm + ptukey on AImoclips clip means", axes = list())
for (axis in c("valence", "arousal")) {
  norm <- intents[[paste0("gt_", axis)]][match(as.character(agg$intent), intents$emotion)]
  agg$dev <- agg[[axis]] - norm
  fit <- lm(dev ~ system + intent, data = agg)
  b <- coef(fit)
  V <- vcov(fit)
  k <- length(systems)
  m <- nlevels(agg$intent)
  L <- matrix(0, k, length(b))
  L[, 1] <- 1
  for (s in 2:k) L[s, s] <- 1
  L[, (k + 1):(k + m - 1)] <- 1 / m
  rows <- list()
  for (i in 1:(k - 1)) for (j in (i + 1):k) {
    cvec <- L[j, ] - L[i, ]
    d <- sum(cvec * b)
    se <- sqrt(as.numeric(t(cvec) %*% V %*% cvec))
    q <- abs(d) / se * sqrt(2)
    crit <- qtukey(0.95, k, fit$df.residual)
    rows[[length(rows) + 1]] <- list(group1 = systems[i], group2 = systems[j], meandiff = d,
      ci_low = d - crit * se / sqrt(2), ci_high = d + crit * se / sqrt(2),
      p_adj = ptukey(q, k, fit$df.residual, lower.tail = FALSE))
  }
  hsd <- TukeyHSD(aov(dev ~ system + intent, data = agg), "system")$system
  out$axes[[axis]] <- list(df_resid = fit$df.residual, pairs = rows,
                           tukeyhsd_diff = unname(hsd[, "diff"]),
                           tukeyhsd_names = rownames(hsd))
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/posthoc_adjusted.json")
