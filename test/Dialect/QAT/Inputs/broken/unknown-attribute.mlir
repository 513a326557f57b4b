#q = #qat.estimator<ste>
