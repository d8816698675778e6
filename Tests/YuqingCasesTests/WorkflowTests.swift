import Testing
@testable import YuqingCases
@Test func placeholder() {}
