// Jest global teardown: removes the build of the sources that engine-build.js made for this run.
export { removeEngineBuild as default } from './engine-build.js';
