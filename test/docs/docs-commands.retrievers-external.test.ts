import { describeDocsPage } from "./docs-page-suite.js";

describeDocsPage("docs/retrievers-external.md");
