"""The paper's Mean Opinion Score (MOS) study, as a kit for real human raters.

The paper (section 4.2): 18 subjects, each first shown the source (ground-truth) images, then
rated restorations from 1 (bad) to 5 (excellent); 288 restorations per model over the six
scales (48 per scale); MOS per model at each scale (Tables 1-4). The kit never invents ratings.

One module per job; import the one you need (this package imports none of them, so the
statistics never pull in widgets):

  plan     the gallery index and the rating plan of one rater (which restorations, in which order)
  storage  crash-safe rating files, one CSV per rater
  stats    MOS with confidence intervals, Krippendorff's alpha, Wilcoxon + Holm, the paper's MOS
           beside ours, and :func:`stats.analyze` that runs them all
  report   Markdown/CSV tables and the MOS-vs-scale figure
  app      the resumable rating session and its JupyterLab (ipywidgets) front end
  proxy    PIQE, a no-reference score shown as a PROXY, never mixed with the ratings

Gallery format (written by the evaluation code): ``<gallery>/index.csv`` with columns
image_id, scale ('128x96'), model ('ground_truth', 'input' or a model name), path (PNG path
relative to the gallery), psnr_db, ssim.
"""
