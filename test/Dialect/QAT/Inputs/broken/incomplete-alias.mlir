#q = #qat.quantizer<signed, 4 bits, absmax>
