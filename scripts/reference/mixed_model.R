# Reference values for emoconvey.analysis.mixed: lme4::lmer REML fits of
#   dev ~ system + intent + (1 | listener) + (1 | clip)
# per axis on the bundled AImoclips release, with estimated marginal means of the
# systems (equal weights over intents) and their Wald standard errors.
# Run from the repository root:  Rscript scripts/reference/mixed_model.R
# Writes tests/reference/mixed_model.json.  Needs r-base-core, r-cran-lme4, r-cran-jsonlite.
suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})
data_dir <- "src/emoconvey/data/aimoclips"
ratings <- read.csv(file.path(data_dir, "ratings_metadata.csv"), stringsAsFactors = FALSE)
intents <- read.csv(file.path(data_dir, "emotion_intents_metadata.csv"), stringsAsFactors = FALSE)
# audio_file = <System>_<emotion>_<n>_crop.wav
parts <- strsplit(sub("\\.wav$", "", ratings$audio_file), "_")
ratings$system <- vapply(parts, `[`, "", 1)
ratings$intent <- vapply(parts, `[`, "", 2)
ratings$listener <- ratings$user
ratings$clip <- ratings$audio_file
# AImoclips exclusion rule: clips with fewer than 4 ratings are dropped
counts <- table(ratings$clip)
ratings <- ratings[ratings$clip %in% names(counts)[counts >= 4], ]
ratings$system <- factor(ratings$system, levels = sort(unique(ratings$system)))
ratings$intent <- factor(ratings$intent, levels = sort(unique(ratings$intent)))
out <- list(source = "lme4::lmer REML on the bundled AImoclips release",
            lme4_version = as.character(packageVersion("lme4")),
            n_ratings = nrow(ratings), axes = list())
for (axis in c("valence", "arousal")) {
  norm <- intents[[paste0("gt_", axis)]][match(as.character(ratings$intent), intents$emotion)]
  ratings$dev <- ratings[[axis]] - norm
  fit <- lmer(dev ~ system + intent + (1 | listener) + (1 | clip), data = ratings, REML = TRUE,
              control = lmerControl(optimizer = "bobyqa",
                                    optCtrl = list(rhobeg = 1e-2, rhoend = 1e-10)))
  vc <- as.data.frame(VarCorr(fit))
  b <- fixef(fit)
  V <- as.matrix(vcov(fit))
  k <- nlevels(ratings$system)
  m <- nlevels(ratings$intent)
  L <- matrix(0, k, length(b))
  L[, 1] <- 1
  for (s in 2:k) L[s, s] <- 1
  L[, (k + 1):(k + m - 1)] <- 1 / m
  emm <- as.vector(L %*% b)
  se <- sqrt(diag(L %*% V %*% t(L)))
  bs <- b[2:k]
  chi2 <- as.numeric(t(bs) %*% solve(V[2:k, 2:k], bs))
  out$axes[[axis]] <- list(
    listener = vc$vcov[vc$grp == "listener"],
    clip = vc$vcov[vc$grp == "clip"],
    residual = vc$vcov[vc$grp == "Residual"],
    reml_criterion = as.numeric(REMLcrit(fit)),
    systems = levels(ratings$system),
    estimate = emm,
    se = se,
    chi2_system = chi2
  )
}
dir.create("tests/reference", showWarnings = FALSE)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/mixed_model.json")
