"""Translation: a torchvision Compose as a spec (:mod:`.torchvision`), per-op rules (:mod:`.rules`)
and the assessment of where each transform runs (:mod:`.assess`)."""
