import IngestCore
import Testing

@Suite struct ChangeCursorTests {
    @Test func theTextFormRoundTripsEvenWithATildeInTheID() {
        let cursor = ChangeCursor(microseconds: 1_796_571_865_552_123, kind: "connection", change: "vanished", entityID: "a;1~2 -> b;3")
        #expect(cursor.description == "1796571865552123~connection~vanished~a;1~2 -> b;3")
        #expect(ChangeCursor(cursor.description) == cursor)
    }

    @Test(arguments: ["", "x~node~appeared~id", "1~node~appeared", "1~~appeared~id", "1~node~~id", "-5~node~appeared~id",
                      "900000000000000000~node~appeared~id", "1~node~appeared~a\u{0}b"])
    func malformedCursorsAreRefused(text: String) {
        #expect(ChangeCursor(text) == nil)
    }
}
