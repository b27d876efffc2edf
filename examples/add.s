; y = x - 5: four int8 words of x in mem_w0, int32 results as four byte planes in mem_w0..w3
.data mem_w0 0 -64..63           ; x: 128 bytes = 4 words of 32 lanes
.output y.b0 mem_w0 4 4          ; the results' least significant bytes
.output y.b1 mem_w1 0 4
.output y.b2 mem_w2 0 4
.output y.b3 mem_w3 0 4          ; the most significant bytes
.queue mem_w0.rd
    read 0 -> e0                 ; x[0] onto eastward stream 0 in cycle 0
    repeat 3, 1                  ; x[1] .. x[3] in cycles 1 .. 3
.queue vxm.alu0
    nop 2                        ; x[0] reaches the VXM in cycle 2
    add.i8.i32 e0, #-5 -> w0     ; int8 in, int32 out on westward streams 0..3
    repeat 3, 0
.queue mem_w0.wr
    nop 4                        ; byte plane 0 of the sum passes mem_w0 in cycle 4
    write w0 -> 4
    repeat 3, 1
.queue mem_w1.wr
    nop 5
    write w1 -> 0
    repeat 3, 1
.queue mem_w2.wr
    nop 6
    write w2 -> 0
    repeat 3, 1
.queue mem_w3.wr
    nop 7
    write w3 -> 0
    repeat 3, 1
