/// The seconds of a run that count as its steady state.
///
/// ## Overview
/// The window opens one beat after the last sensor of the first phase started and closes when
/// the first sensor stops, shortened at its start to a whole number of beats. Each sensor sends
/// one report a beat and polls every half beat, so only a window of whole beats carries the two
/// in the proportion they have over a long run: a 90-s window at a 60-s beat (a 30-s ramp,
/// 150 s held) holds exactly one report of each sensor but three of its polls, 67 reports/s
/// where the fleet sends 100, and every figure per report counts half a beat's polls and
/// background twice over.
public enum SteadyWindow {
    /// Whole seconds `from..<to`, or nil when fewer than `minimumSeconds` remain. A span
    /// shorter than one beat is kept as it is (there is no whole beat to cut it to).
    public static func seconds(
        lastStart: Double, firstStop: Double, beat: Double, minimumSeconds: Int = 10
    ) -> (from: Int, to: Int)? {
        var from = Int((lastStart + beat).rounded(.up))
        let to = Int(firstStop.rounded(.down))
        guard to - from >= minimumSeconds else { return nil }
        let beats = (Double(to - from) / beat).rounded(.down)
        if beats >= 1 { from = to - Int((beats * beat).rounded()) }
        return (from, to)
    }
}
