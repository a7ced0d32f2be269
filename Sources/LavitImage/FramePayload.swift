/// One frame as a source delivers it, before decoding: what a camera or an image file gives. The
/// bytes belong to the source and stay valid until it is asked for its next frame.
public enum FramePayload {
    /// JPEG (an MJPEG camera frame, possibly zero-padded to the buffer's end) or PNG (a file).
    case compressed(UnsafeRawBufferPointer)
    /// YUYV 4:2:2, `bytesPerLine` at least `2 * width`.
    case yuyv(UnsafeRawBufferPointer, width: Int, height: Int, bytesPerLine: Int)
}
